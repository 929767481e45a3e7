"""Removing containers: ``rm`` (with ``-f`` a running one is killed first; a damaged record's container is found
from what it left), ``prune`` of the stopped ones, and ``sweep`` of what interrupted creates and removals left.
"""

from __future__ import annotations

import contextlib
import signal

from geedocker import network
from geedocker.containers import rootfs
from geedocker.containers.engine import Engine
from geedocker.containers.plan import engine_cgroups_path
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.refresh import refresh
from geedocker.containers.shutdown import thaw_if_paused, wait_monitor_gone, wait_not_running
from geedocker.containers.store import event
from geedocker.errors import ContainerStateError, GeeDockerError
from geedocker.logger import get_logger
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Callable

log = get_logger(__name__)


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
            # logged first: the monitor logs ``die`` as soon as the process is gone, and docker's order is kill, die
            event(layout, rec, "kill", signal=str(int(signal.SIGKILL)))  # as docker's rm -f
            Engine.of(layout).backend(rec.runtime or None).kill(rec.id, signal.SIGKILL)
        thaw_if_paused(layout, rec)
        wait_not_running(layout, rec, 30)
        wait_monitor_gone(rec, 10)
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
    done += store.names.release_stale()
    return done
