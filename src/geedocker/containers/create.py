"""Creating a container: ``create`` makes its record (a name, its volumes, under the lock that keeps ``rmi`` from
its layers), then its bundle (``containers.bundle``), and undoes all of it when a step fails. Nothing runs yet.

A container's root filesystem comes from a ``RootfsSource``: the image's layer dirs (top first) and
its config. ``geedocker.cli.run`` makes one from the image store; tests make one from a directory.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from geedocker import network
from geedocker.containers import rootfs
from geedocker.containers.backend import backend_name
from geedocker.containers.bundle import write_bundle
from geedocker.containers.engine import Engine
from geedocker.containers.flags import validate_name
from geedocker.containers.options import RunOptions
from geedocker.containers.plan import engine_cgroups_path, find_init_binary, host_capabilities, make_plan
from geedocker.containers.record import ContainerRecord
from geedocker.containers.store import ContainerStore, event, new_container_id
from geedocker.errors import ContainerError, GeeDockerError, UsageError
from geedocker.oci import ContainerConfig
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339
from geedocker.values import replace, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Callable


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
        write_bundle(store, rec, plan, starting=starting)
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
