"""Container operations: create, start, run, stop, kill, rm, wait, prune.

A container's root filesystem comes from a ``RootfsSource``: the image's layer dirs (top first) and
its config. ``geedocker.cli.run`` makes one from the image store; tests make one from a directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from geedocker import network
from geedocker.containers import rootfs
from geedocker.containers.backend import backend_name
from geedocker.containers.engine import Engine
from geedocker.containers.flags import validate_name
from geedocker.containers.monitor import run_attached, start_detached
from geedocker.containers.options import RunOptions
from geedocker.containers.paths import mkdir_in_root
from geedocker.containers.plan import (
    INIT_DESTINATION,
    ContainerPlan,
    Resolved,
    custom_devices,
    engine_cgroups_path,
    find_init_binary,
    host_capabilities,
    host_devices,
    make_plan,
)
from geedocker.containers.record import ContainerRecord, Status, is_alive
from geedocker.containers.refresh import refresh
from geedocker.containers.spec import build_spec
from geedocker.containers.store import ContainerStore, event, new_container_id
from geedocker.containers.users import resolve_groups_in_rootfs, resolve_user_in_rootfs
from geedocker.errors import ContainerError, ContainerStateError, GeeDockerError, UsageError
from geedocker.logger import get_logger
from geedocker.network.options import NetworkRequest
from geedocker.oci import ContainerConfig, canonical_json
from geedocker.store.fsutil import atomic_write
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339
from geedocker.values import replace, value

__all__ = ["refresh"]  # at home in containers.refresh, which read-only commands import alone

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Callable

log = get_logger(__name__)

@value
class RootfsSource:
    """What a container is made from: layer dirs (top first), the image's run config, its names."""

    lower_dirs: tuple[Path, ...]
    config: ContainerConfig
    image: str = ""
    image_id: str = ""


def _check_mounts(opts: RunOptions) -> None:
    """A missing bind source: ``-v`` makes the directory (as dockerd does for Binds), ``--mount`` refuses."""
    for m in opts.mounts:
        if m.type == "bind" and not os.path.lexists(m.source):
            if m.flag != "-v":
                raise UsageError(f'invalid mount config for type "bind": bind source path does not exist: {m.source}')
            try:
                os.makedirs(m.source, 0o755, exist_ok=True)
            except OSError as e:
                raise UsageError(f"error while creating mount source path '{m.source}': mkdir {m.source}: "
                                 f"{(e.strerror or str(e)).lower()}") from e


def _record_on_layers(layout: Layout, store: ContainerStore, source: RootfsSource,
                      make: Callable[[str, str], ContainerRecord], name: str, cid: str) -> ContainerRecord:
    """The container's record, written while its layers are known to be there: ``rmi`` cannot delete them
    between the check and the record (``users_lock``; ``rmi`` reads the records under it)."""
    from geedocker.store.images import users_lock

    with users_lock(layout, shared=True):
        for p in source.lower_dirs:
            if not p.is_dir():
                raise ContainerError(f"image layer directory {p} is missing (the image was removed?)")
        return store.create(make, name, cid)


def create(layout: Layout, source: RootfsSource, opts: RunOptions, *, starting: bool = False) -> ContainerRecord:
    """Make a container (status ``created``): record, overlay dirs, config.json. Nothing runs yet.

    ``starting``: it is started right after (``run``): the runtime may prepare its part meanwhile (see
    ``Backend.prepare``). A failure here discards that; a failed start does too (``Supervisor``)."""
    layout.ensure()
    if opts.name:
        validate_name(opts.name)
    plan = make_plan(
        new_container_id(), source.config, opts, nodename=os.uname().nodename,
        known_capabilities=host_capabilities(), init_path=find_init_binary() if opts.init else None,
    )  # fmt: skip
    _check_mounts(opts)
    store = Engine.of(layout).containers
    runtime = backend_name()

    def make(cid: str, name: str) -> ContainerRecord:
        return ContainerRecord(
            id=cid,
            name=name,
            image=source.image,
            image_id=source.image_id,
            created=now_rfc3339(),
            args=plan.command,
            options=replace(opts, name=name),
            image_config=_with_exposed(_with_health(source.config, opts.health), opts.expose),
            lower_dirs=tuple(str(p) for p in source.lower_dirs),
            hostname=plan.hostname,
            stop_signal=plan.stop_signal,
            stop_timeout=plan.stop_timeout,
            runtime=runtime,
        )

    made: list[str] = []  # volumes made for this container: they go if it is not made
    if opts.volumes_from or source.config.volumes or any(m.type == "volume" for m in opts.mounts):
        from geedocker.containers import volumes  # here: only containers with volumes need it

        with volumes.locked(layout):  # no ``volume rm`` between naming the volumes and the record using them
            mounts, made = volumes.resolve(layout, opts.mounts, source.config, opts.volumes_from)
            opts = replace(opts, mounts=tuple(mounts))
            try:
                rec = _record_on_layers(layout, store, source, make, opts.name, plan.id)
            except BaseException:
                volumes.remove_volumes(layout, made, locked=True)
                raise
    else:
        rec = _record_on_layers(layout, store, source, make, opts.name, plan.id)
    plan = replace(plan, options=rec.options)  # with its name and its volumes named
    try:
        if starting:
            Engine.of(layout).backend(rec.runtime or None).prepare(rec.id, engine_cgroups_path(rec.id))
        _write_bundle(store, rec, plan, starting=starting)
    except BaseException:
        if starting:
            _discard_prepared(layout, rec)
        with contextlib.suppress(GeeDockerError):
            rootfs.unmount(store.rootfs(rec.id))
        with contextlib.suppress(GeeDockerError):
            network.release(layout, rec.id)  # network hook
        store.remove_dir(rec.id, rec.name)
        if made:
            from geedocker.containers import volumes

            volumes.remove_volumes(layout, made)
        raise
    event(layout, rec, "create")
    return rec


def _with_exposed(cfg: ContainerConfig, expose: tuple[str, ...]) -> ContainerConfig:
    """The image's ExposedPorts and ``--expose``'s (the container's config, as docker's: -P publishes them all)."""
    if not expose:
        return cfg
    return replace(cfg, exposed_ports=tuple(sorted({*cfg.exposed_ports, *expose})))


def _with_health(cfg: ContainerConfig, flags: str) -> ContainerConfig:
    """The image's HEALTHCHECK with the ``--health-*`` flags over it."""
    if not flags:
        return cfg
    import json

    from geedocker.containers.health import merge

    return cfg.with_key("Healthcheck", merge(cfg.get("Healthcheck"), json.loads(flags)))


def _discard_prepared(layout: Layout, rec: ContainerRecord) -> None:
    """Undo what the runtime prepared for a start that did not happen (``create(starting=True)``)."""
    with contextlib.suppress(GeeDockerError):
        Engine.of(layout).backend(rec.runtime or None).discard(rec.id, engine_cgroups_path(rec.id))


def _write_bundle(store: ContainerStore, rec: ContainerRecord, plan: ContainerPlan, *, starting: bool) -> None:
    """Mount the overlay, resolve what the plan left to the rootfs (user, volumes), attach the network and
    write config.json (the overlay stays mounted). A ``--device`` node that is not there is left out unless the
    container is ``starting``: docker looks for it when the container starts (``_add_devices``)."""
    cdir = store.dir(rec.id)
    root = store.rootfs(rec.id)
    rootfs.mount_overlay(cdir, [Path(p) for p in rec.lower_dirs], root, volatile=rec.options.rm)
    opts = plan.options
    user = resolve_user_in_rootfs(root, plan.user)
    mkdir_in_root(root, plan.workdir)
    (cdir / "hostname").write_text(plan.hostname + "\n")
    attachment = network.setup(store.layout, network_request(store, rec))  # what it asks, /etc files (made at start)
    mounts = opts.mounts
    if any(m.type == "volume" for m in opts.mounts):
        from geedocker.containers import volumes  # here: only containers with volumes need it

        mounts = volumes.for_spec(store.layout, rec)  # volumes as binds of their _data
        volumes.seed(store.layout, rec, root)  # new empty volumes get the image's content at their mount point
    if plan.init_path:
        _ensure_file(root, INIT_DESTINATION)
    if opts.group_add:
        gids = resolve_groups_in_rootfs(root, opts.group_add)
        user = replace(user, additional_gids=tuple(sorted({*user.additional_gids, *gids})))
    devices = host_devices() if opts.privileged else []
    if opts.devices:
        mine = custom_devices(opts.devices, missing_ok=not starting)
        devices = [d for d in devices if d["path"] not in {m["path"] for m in mine}] + mine
    resolved = Resolved(
        rootfs=str(root), user=user, mounts=mounts, hostname_file=str(cdir / "hostname"), devices=tuple(devices),
    )  # fmt: skip
    spec = build_spec(plan, resolved, attachment)  # the targets of its binds (/etc/hosts...) the runtime makes
    atomic_write(cdir / "config.json", canonical_json(spec), durable=False)  # remade by every create


def _add_devices(store: ContainerStore, rec: ContainerRecord) -> None:
    """``start``: the ``--device`` nodes that were not there when the container was made go into its config.json
    (with their cgroup rules), or the start fails with docker's error for a node that is still missing."""
    import json

    mine = custom_devices(rec.options.devices)
    path = store.dir(rec.id) / "config.json"
    spec = json.loads(path.read_bytes())
    linux = spec.setdefault("linux", {})
    new = [d for d in mine if d["path"] not in {d["path"] for d in linux.get("devices", [])}]
    if not new:
        return
    linux["devices"] = [*linux.get("devices", []), *({k: v for k, v in d.items() if k != "access"} for d in new)]
    res = linux.setdefault("resources", {})
    rules = [{"allow": True, "type": d["type"], "major": d["major"], "minor": d["minor"], "access": d["access"]}
             for d in new]  # fmt: skip
    res["devices"] = [*res.get("devices", []), *rules]
    atomic_write(path, canonical_json(spec), durable=False)


def network_request(store: ContainerStore, rec: ContainerRecord) -> NetworkRequest:
    """What the network is asked for ``rec``; ``--network container:NAME`` resolved to that container's id."""
    opts = rec.options.net
    join_id = store.resolve(opts.container).id if opts.container else ""
    return NetworkRequest(rec.id, rec.name, rec.hostname, opts, rec.image_config.exposed_ports, join_id)


def _ensure_file(root: Path, path: str) -> None:
    from geedocker.containers.paths import secure_join

    d = mkdir_in_root(root, os.path.dirname(path))
    target = secure_join(root, path)
    if not target.exists() and target.parent == d:
        target.touch(0o644)


def start(
    layout: Layout,
    ref: str,
    *,
    attach: bool = False,
    on_started: Callable[[], None] | None = None,
    keep_manual_stop: bool = False,
    attach_stdin: bool | None = None,
    detach_keys: bytes = b"\x10\x11",
) -> int:
    """Start a created or exited container: attached (returns its exit status; ``on_started`` runs once it
    runs) or under a monitor (0). A container stopped by hand is no longer so (its restart policy applies
    again), unless ``keep_manual_stop`` (``system boot``)."""
    store = Engine.of(layout).containers
    rec = refresh(layout, store.resolve(ref))
    if rec.damaged or rec.state.status in (Status.DEAD, Status.REMOVING):
        raise ContainerStateError("container is marked for removal and cannot be started")  # docker's words
    if rec.state.manually_stopped and not keep_manual_stop:
        rec = store.update_state(rec.id, manually_stopped=False)
    if rec.state.status == Status.RUNNING:
        if attach:
            raise ContainerStateError(f"container {rec.name} is already running")
        return 0
    if rec.options.devices:
        _add_devices(store, rec)
    Engine.of(layout).backend(rec.runtime or None).prepare(rec.id, engine_cgroups_path(rec.id))  # discarded if it fails
    if attach:
        return run_attached(layout, rec, on_started, attach_stdin=attach_stdin, detach_keys=detach_keys)
    start_detached(layout, rec)
    return 0


def run(
    layout: Layout, source: RootfsSource, opts: RunOptions,
    on_created: Callable[[ContainerRecord], None] | None = None, *, detach_keys: bytes = b"\x10\x11",
    sig_proxy: bool = True,
) -> tuple[ContainerRecord, int]:
    """``docker run``: create, then start attached (the exit status; 0 when the user detaches) or detached
    (0). ``on_created`` runs between the two (``--cidfile`` writes the id there, as docker's CLI does)."""
    rec = create(layout, source, opts, starting=True)
    try:
        if on_created is not None:
            on_created(rec)
        if opts.detach:
            start_detached(layout, rec)
            return rec, 0
        return rec, run_attached(layout, rec, detach_keys=detach_keys, sig_proxy=sig_proxy)
    except GeeDockerError:
        if opts.rm:
            with contextlib.suppress(GeeDockerError):
                remove(layout, rec.id, force=True)
        raise


def _running(layout: Layout, rec: ContainerRecord) -> bool:
    return refresh(layout, Engine.of(layout).containers.load(rec.id)).state.status == Status.RUNNING


def _wait_not_running(layout: Layout, rec: ContainerRecord, timeout: float | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            if not _running(layout, rec):
                return True
        except GeeDockerError:
            return True  # removed
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _wait_monitor_gone(rec: ContainerRecord, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while is_alive(rec.state.monitor_pid, rec.state.monitor_start) and time.monotonic() < deadline:
        time.sleep(0.01)


def _stopped_by_hand(store: ContainerStore, rec: ContainerRecord) -> ContainerRecord:
    """``stop``/``kill``: the restart policy leaves the container down (a back-off in progress included)."""
    if rec.options.restart and not rec.state.manually_stopped:
        return store.update_state(rec.id, manually_stopped=True)
    return rec


def kill(layout: Layout, ref: str, sig: int = signal.SIGKILL) -> ContainerRecord:
    store = Engine.of(layout).containers
    rec = _stopped_by_hand(store, refresh(layout, store.resolve(ref)))
    if rec.state.status != Status.RUNNING:
        raise ContainerStateError(f"Cannot kill container: {ref}: container {rec.id} is not running")
    Engine.of(layout).backend(rec.runtime or None).kill(rec.id, sig)
    event(layout, rec, "kill", signal=str(int(sig)))
    _thaw_if_paused(layout, rec)
    return rec


def _thaw_if_paused(layout: Layout, rec: ContainerRecord) -> None:
    """A signal to a paused container waits for the thaw: ``kill`` and ``stop`` thaw it after signalling (docker)."""
    store = Engine.of(layout).containers
    if store.is_paused(rec):
        from geedocker.runtime.cgroups import for_container  # here: only paused containers need it

        with contextlib.suppress(GeeDockerError):
            for_container(engine_cgroups_path(rec.id), rec.id).thaw()
        with contextlib.suppress(OSError):
            os.unlink(store.paused_marker(rec.id))


def stop(layout: Layout, ref: str, timeout: int | None = None, sig: int | None = None) -> ContainerRecord:
    """The stop signal, then SIGKILL after ``timeout`` seconds (the container's stop timeout by default)."""
    store = Engine.of(layout).containers
    rec = _stopped_by_hand(store, refresh(layout, store.resolve(ref)))
    if rec.state.status != Status.RUNNING:
        return rec
    backend = Engine.of(layout).backend(rec.runtime or None)
    t = rec.stop_timeout if timeout is None else timeout
    backend.kill(rec.id, sig or rec.stop_signal)
    _thaw_if_paused(layout, rec)
    if not _wait_not_running(layout, rec, t if t >= 0 else None):  # a negative timeout waits for ever
        backend.kill(rec.id, signal.SIGKILL, all_=False)
        if not _wait_not_running(layout, rec, 30):
            raise ContainerError(f"container {rec.name} did not stop after SIGKILL")
    _wait_monitor_gone(rec, 10)
    event(layout, rec, "stop")
    return rec


def remove(layout: Layout, ref: str, *, force: bool = False, volumes: bool = False) -> ContainerRecord:
    """Remove a container: with ``force`` a running one is killed first. Mounts, runtime state, the dir;
    with ``volumes`` (``rm -v``) its anonymous volumes that no other container uses."""
    store = Engine.of(layout).containers
    rec = refresh(layout, store.resolve(ref))
    if rec.damaged:
        return _remove_damaged(layout, rec, force=force)
    if rec.state.status == Status.RUNNING:
        if not force:
            raise ContainerStateError(
                f"You cannot remove a running container {rec.id}. Stop the container before attempting "
                "removal or force remove"
            )
        with contextlib.suppress(GeeDockerError):
            Engine.of(layout).backend(rec.runtime or None).kill(rec.id, signal.SIGKILL)
            event(layout, rec, "kill", signal=str(int(signal.SIGKILL)))  # as docker's rm -f
        _thaw_if_paused(layout, rec)
        _wait_not_running(layout, rec, 30)
        _wait_monitor_gone(rec, 10)
    with contextlib.suppress(GeeDockerError):
        store.update_state(rec.id, status=Status.REMOVING)
    errors = []
    try:
        Engine.of(layout).backend(rec.runtime or None).delete(rec.id, force=True)
    except GeeDockerError as e:
        errors.append(str(e))
    _destroy_cgroup(rec.id)  # made for a create that was killed before the runtime had any state
    rootfs.unmount(store.rootfs(rec.id))
    network.release(layout, rec.id)  # network hook
    store.remove_dir(rec.id, rec.name)
    event(layout, rec, "destroy")
    if any(m.type == "volume" for m in rec.options.mounts):
        from geedocker.containers import volumes as cvolumes  # here: only containers with volumes need it

        cvolumes.after_exit(layout, rec, remove_anonymous=volumes)
    if errors:
        log.warning("removing container %s: %s", rec.id[:12], "; ".join(errors))
    return rec


def _destroy_cgroup(cid: str) -> None:
    """The container's cgroup in every hierarchy, whatever is left in it killed first. The runtime removes it
    when it deletes a container it knows; this is for one it never knew (create interrupted after the cgroups
    were prepared) or whose record is damaged. Only the container's own processes live there."""
    from geedocker.runtime.cgroups import for_container

    with contextlib.suppress(GeeDockerError, OSError):
        for_container(engine_cgroups_path(cid), cid).destroy()


def _cgroup_busy(cid: str) -> bool:
    from geedocker.runtime.cgroups import for_container

    try:
        return bool(for_container(engine_cgroups_path(cid), cid).pids())
    except (GeeDockerError, OSError):
        return False


def runtime_of(layout: Layout, rec: ContainerRecord) -> str:
    """The OCI runtime of a container: its record's, or for a damaged record the one that keeps state for it."""
    if rec.runtime:
        return rec.runtime
    if (layout.runtime_root / rec.id).exists():
        return "geedocker"
    for name in ("runc", "crun"):
        if (layout.run / name / rec.id).exists():
            return name
    return ""


def _remove_damaged(layout: Layout, rec: ContainerRecord, *, force: bool) -> ContainerRecord:
    """``rm`` of a container whose record cannot be read: what it held is found without it, from the runtime's
    state, its cgroup, its rootfs mount point, its network state and the name index. Its processes (still in
    its cgroup) make it a running container: only ``-f`` takes it."""
    store = Engine.of(layout).containers
    runtime = runtime_of(layout, rec)
    backend = Engine.of(layout).backend(runtime or None)
    running = _cgroup_busy(rec.id) or backend.state(rec.id).status in ("running", "paused", "created")
    if running and not force:
        raise ContainerStateError(
            f"You cannot remove a running container {rec.id}. Stop the container before attempting removal or "
            "force remove"
        )
    errors = []
    try:
        backend.delete(rec.id, force=True)
    except GeeDockerError as e:
        errors.append(str(e))
    _destroy_cgroup(rec.id)
    rootfs.unmount(store.rootfs(rec.id))
    network.release(layout, rec.id)  # network hook: it finds the container's network by its id
    store.remove_dir(rec.id, rec.name)
    event(layout, rec, "destroy")
    if errors:
        log.warning("removing container %s: %s", rec.id[:12], "; ".join(errors))
    return rec


WAIT_CONDITIONS = ("not-running", "next-exit", "removed")


def wait(layout: Layout, ref: str, condition: str = "not-running") -> int:
    """Block until the container is not running (``next-exit``: until it next exits, if it is not running yet;
    ``removed``: until it is removed, as the Engine API's wait conditions); its exit code."""
    if condition not in WAIT_CONDITIONS:
        raise UsageError(f"invalid condition: {condition!r} (not-running, next-exit or removed)")
    store = Engine.of(layout).containers
    rec = store.resolve(ref)
    delay = 0.005
    seen_start = rec.state.started_at
    last = rec.state.exit_code
    while True:
        try:
            cur = refresh(layout, store.load(rec.id))
        except GeeDockerError:
            try:  # an auto-removed container leaves its exit code behind
                return int(store.exit_file(rec.id).read_text().strip())
            except (OSError, ValueError) as e:
                if condition == "removed":
                    return last
                raise ContainerError(f"container {ref} was removed while waiting") from e
        last = cur.state.exit_code
        stopped = cur.state.status == Status.EXITED or (cur.state.status == Status.CREATED and cur.state.error)
        fresh = condition != "next-exit" or cur.state.started_at != seen_start or rec.state.status == Status.RUNNING
        if stopped and fresh and condition != "removed":
            return cur.state.exit_code
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def prune(layout: Layout, select: Callable[[ContainerRecord], bool] | None = None,
          sizes: dict[str, int] | None = None) -> list[str]:
    """Remove every stopped container that ``select`` (docker's prune filters) takes; their ids. ``sizes``, when
    given, gets the bytes of each removed container's writable layer (docker's space reclaimed)."""
    from geedocker.trees import content_size

    store = Engine.of(layout).containers
    removed = []
    for rec in store.list():
        rec = refresh(layout, rec)
        if rec.state.status in (Status.EXITED, Status.CREATED, Status.DEAD) and (select is None or select(rec)):
            size = content_size(store.dir(rec.id) / "upper") if sizes is not None else 0
            with contextlib.suppress(GeeDockerError):
                remove(layout, rec.id)  # a damaged record whose processes still run is refused
                removed.append(rec.id)
                if sizes is not None:
                    sizes[rec.id] = size
    sweep(layout)
    return removed


def sweep(layout: Layout) -> list[str]:
    """What interrupted creates and removals left that no container owns: ``.creating-``/``.removing-`` dirs
    and name-index entries of containers that are gone. What was removed (paths and names)."""
    store = Engine.of(layout).containers
    done = []
    for path in store.leftover_dirs():
        with contextlib.suppress(GeeDockerError):
            rootfs.unmount(path / "rootfs")
        from geedocker.store.fsutil import remove_tree

        remove_tree(path)
        if not path.exists():
            done.append(str(path))
    if done:
        store.index.settle()  # the list is still true: none of these was a container
    done += store.release_stale_names()
    return done
