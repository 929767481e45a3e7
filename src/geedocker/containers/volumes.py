"""Volumes as containers use them: resolving a container's volume mounts at create, mounting and seeding them
when its bundle is written, the ``Mounts`` of inspect, and the volume commands that need to know the containers
(``volume rm`` refused while one uses it, ``prune``, ``rm -v``).

Resolution, as docker's: the mounts of ``--volumes-from`` containers first (their access mode overridden by
``:ro``/``:rw``), then ``-v``/``--mount``/``--tmpfs`` (one mount per destination: a repeat is an error, and a
user mount replaces an inherited one), then each ``VOLUME`` of the image that no mount covers gets a new
anonymous volume. A named volume that does not exist is made (with ``volume-opt``/``volume-label``).
The resolved mounts, volume names filled in, are what the container's record keeps.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from geedocker.containers import rootfs
from geedocker.containers.engine import Engine
from geedocker.containers.options import MountSpec
from geedocker.containers.record import ContainerRecord
from geedocker.containers.store import ContainerStore
from geedocker.errors import DaemonError, GeeDockerError, UsageError, VolumeError, VolumeInUse, VolumeNotFound
from geedocker.logger import get_logger
from geedocker.oci import ContainerConfig
from geedocker.store.layout import Layout
from geedocker.values import replace
from geedocker.volumes import driver
from geedocker.volumes.store import DRIVER, Volume, VolumeStore

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

log = get_logger(__name__)


def parse_volumes_from(text: str) -> tuple[str, str]:
    """``CONTAINER[:ro|rw]`` -> (container, mode)."""
    ref, _, mode = text.partition(":")
    if not ref or mode not in ("", "ro", "rw"):
        raise UsageError(f"invalid --volumes-from {text!r}: expected CONTAINER[:ro|rw]")
    return ref, mode


def _inherited(store: ContainerStore, volumes_from: Iterable[str]) -> list[MountSpec]:
    out: list[MountSpec] = []
    for item in volumes_from:
        ref, mode = parse_volumes_from(item)
        rec = store.resolve(ref)
        for m in rec.options.mounts:
            if m.type == "tmpfs":
                continue  # docker leaves tmpfs mounts behind (they belong to one container)
            ro = m.readonly if not mode else mode == "ro"
            out.append(replace(m, readonly=ro, mode="", nocopy=True))  # docker shows no Mode for these
    return out


def resolve(
    layout: Layout, mounts: Iterable[MountSpec], image: ContainerConfig, volumes_from: Iterable[str] = ()
) -> tuple[list[MountSpec], list[str]]:
    """The container's mounts with every volume named (and made when missing): (mounts, volumes made here).

    The caller holds ``VolumeStore.locked`` until the container's record is written, so that no ``volume rm``
    takes a volume between the two; it removes the volumes made here if the container is not made."""
    vstore = Engine.of(layout).volumes
    by_target: dict[str, MountSpec] = {m.target: m for m in _inherited(Engine.of(layout).containers, volumes_from)}
    own: set[str] = set()
    for m in mounts:
        if m.target in own:
            raise UsageError(f"Duplicate mount point: {m.target}")
        own.add(m.target)
        by_target[m.target] = m
    for v in image.volumes:
        target = os.path.normpath(v) if v.startswith("/") else "/" + os.path.normpath(v)
        if target not in by_target:
            by_target[target] = MountSpec("volume", target)
    made: list[str] = []
    out: list[MountSpec] = []
    try:
        for m in by_target.values():
            if m.type == "volume":
                m = _named(vstore, m, made)
            out.append(m)
    except BaseException:
        remove_volumes(layout, made, locked=True)
        raise
    return sorted(out, key=lambda m: m.target), made


def _named(vstore: VolumeStore, m: MountSpec, made: list[str]) -> MountSpec:
    """``m`` with its volume made if it is missing (anonymous: always), the source its name."""
    if m.source and vstore.exists(m.source):
        return m
    try:
        vol, new = _create_unlocked(vstore, m)
    except VolumeError as e:
        raise UsageError(str(e)) from e  # at create: an engine error (125), as docker run's
    if new:
        made.append(vol.name)
    return replace(m, source=vol.name)


def _create_unlocked(vstore: VolumeStore, m: MountSpec) -> tuple[Volume, bool]:
    labels = dict(m.volume_labels) if m.volume_labels else None  # docker shows null for an implicit volume
    return vstore.create_unlocked(m.source, labels, dict(m.volume_options) if m.volume_options else None)


def _ensure_mounted(vstore: VolumeStore, vol: Volume) -> None:
    """Mount a tmpfs/device volume on its ``_data`` unless it already is (plain volumes need nothing)."""
    if driver.needs_mount(vol) and not rootfs.is_mountpoint(vstore.data(vol.name)):
        driver.mount(vstore, vol)


def _release(vstore: VolumeStore, vol: Volume) -> None:
    """Unmount a tmpfs/device volume's ``_data`` (its content goes with a tmpfs, as with docker's)."""
    if driver.needs_mount(vol):
        rootfs.unmount(vstore.data(vol.name))


def volumes_of(rec: ContainerRecord) -> list[str]:
    return [m.source for m in rec.options.mounts if m.type == "volume" and m.source]


def anonymous_volumes_of(layout: Layout, rec: ContainerRecord) -> list[str]:
    vstore = Engine.of(layout).volumes
    out = []
    for name in volumes_of(rec):
        with contextlib.suppress(GeeDockerError):
            if vstore.get(name).anonymous:
                out.append(name)
    return out


def users(layout: Layout, name: str, skip: str = "") -> list[str]:
    """The ids of the containers (other than ``skip``) whose mounts use volume ``name``."""
    return [r.id for r in Engine.of(layout).containers.list() if r.id != skip and name in volumes_of(r)]


def for_spec(layout: Layout, rec: ContainerRecord) -> tuple[MountSpec, ...]:
    """The record's mounts as the spec takes them: a volume is a bind mount of its ``_data``.

    Mounts tmpfs/device volumes (driver options) and seeds new empty volumes from the container's root
    filesystem (mounted at ``rootfs``), unless ``nocopy``."""
    vstore = Engine.of(layout).volumes
    out = []
    for m in rec.options.mounts:
        if m.type != "volume":
            out.append(m)
            continue
        try:
            vol = vstore.get(m.source)
        except VolumeNotFound as e:
            raise VolumeError(f"error while mounting volume for {m.target}: {e}") from e
        _ensure_mounted(vstore, vol)
        out.append(MountSpec("bind", m.target, str(vstore.data(vol.name)), m.readonly, ("rprivate",)))
    return tuple(out)


def mount_events(layout: Layout, rec: ContainerRecord, action: str) -> None:
    """docker's ``mount`` (as ``rec`` starts) or ``unmount`` (after it exited) event for each of its volumes."""
    from geedocker.store import events

    for m in rec.options.mounts:
        if m.type == "volume" and m.source:
            attrs = {"container": rec.id, "driver": DRIVER}
            if action == "mount":
                attrs.update(destination=m.target, propagation="", **{"read/write": str(not m.readonly).lower()})
            events.emit(layout, "volume", action, m.source, attrs)


def seed(layout: Layout, rec: ContainerRecord, root: Path) -> None:
    """Copy what the image has at each volume's mount point into the volume when it is empty, as docker does the
    first time a volume is mounted (``nocopy`` and ``--volumes-from`` mounts excepted)."""
    from geedocker.volumes.seed import copy_into_empty

    vstore = Engine.of(layout).volumes
    for m in rec.options.mounts:
        if m.type == "volume" and not m.nocopy:
            copy_into_empty(root, m.target, vstore.data(m.source))


def ensure_mounted(layout: Layout, rec: ContainerRecord) -> None:
    """Mount the tmpfs/device volumes of a container about to start (a later ``start`` after an unmount)."""
    vstore = Engine.of(layout).volumes
    for name in volumes_of(rec):
        with contextlib.suppress(VolumeNotFound):
            _ensure_mounted(vstore, vstore.get(name))


def release(layout: Layout, rec: ContainerRecord) -> None:
    """Unmount the tmpfs/device volumes of ``rec`` that no other running container uses."""
    from geedocker.containers.record import Status

    vstore = Engine.of(layout).volumes
    names = []
    for n in volumes_of(rec):
        with contextlib.suppress(GeeDockerError):
            if driver.needs_mount(vstore.get(n)):
                names.append(n)
    if not names:
        return
    others = [r for r in Engine.of(layout).containers.list() if r.id != rec.id and r.state.status == Status.RUNNING]
    busy = {n for r in others for n in volumes_of(r)}
    for n in names:
        if n not in busy:
            with contextlib.suppress(GeeDockerError):
                _release(vstore, vstore.get(n))


def after_exit(layout: Layout, rec: ContainerRecord, *, remove_anonymous: bool) -> None:
    """After ``rec`` stopped or was removed: unmount its tmpfs/device volumes that no running container uses;
    with ``remove_anonymous`` (``rm -v``, ``--rm``) remove its anonymous volumes that no other container uses."""
    release(layout, rec)
    if remove_anonymous:
        remove_volumes(layout, anonymous_volumes_of(layout, rec), skip=rec.id)


def remove_volume(layout: Layout, name: str, *, force: bool = False) -> None:
    """``volume rm``: refused while a container uses it (``force`` too, as docker), ``force`` ignores a missing
    one."""
    vstore = Engine.of(layout).volumes
    with vstore.locked():
        try:
            vol = vstore.get(name)
        except VolumeNotFound:
            if force:
                return
            raise
        used = users(layout, name)
        if used:
            raise VolumeInUse(f"remove {name}: volume is in use - [{', '.join(used)}]")
        _release(vstore, vol)
        vstore.remove_unlocked(name)


def remove_volumes(layout: Layout, names: Iterable[str], skip: str = "", *, locked: bool = False) -> None:
    """Remove these volumes where no container (other than ``skip``) uses them (``rm -v``, ``--rm``).
    ``locked``: the caller holds ``VolumeStore.locked``."""
    vstore = Engine.of(layout).volumes
    for name in names:
        try:
            with contextlib.nullcontext() if locked else vstore.locked():
                if users(layout, name, skip=skip):
                    continue
                with contextlib.suppress(VolumeNotFound):
                    _release(vstore, vstore.get(name))
                    vstore.remove_unlocked(name)
        except GeeDockerError as e:
            log.warning("removing volume %s: %s", name, e)


def prune(layout: Layout, *, all_: bool = False, labels: Iterable[str] = (),
          sizes: dict[str, int] | None = None) -> list[str]:
    """Remove unused volumes: only anonymous ones unless ``all_`` (docker 23+); ``labels`` filters
    (``k``, ``k=v``, ``!k`` as ``label!=``). The names removed; ``sizes``, when given, gets the bytes of each
    (docker's space reclaimed)."""
    from geedocker.trees import content_size

    vstore = Engine.of(layout).volumes
    removed = []
    with vstore.locked():
        used = {n for r in Engine.of(layout).containers.list() for n in volumes_of(r)}
        for vol in vstore.list():
            if vol.name in used or (not all_ and not vol.anonymous) or not _labels_match(vol, labels):
                continue
            try:
                size = content_size(vstore.data(vol.name)) if sizes is not None else 0
                _release(vstore, vol)
                vstore.remove_unlocked(vol.name)
                removed.append(vol.name)
                if sizes is not None:
                    sizes[vol.name] = size
            except GeeDockerError as e:
                log.warning("pruning volume %s: %s", vol.name, e)
    return removed


def _labels_match(vol: Volume, filters: Iterable[str]) -> bool:
    have = dict(vol.labels or ())
    for f in filters:
        neg = f.startswith("!")
        k, eq, v = f.lstrip("!").partition("=")
        hit = k in have and (not eq or have[k] == v)
        if hit == neg:
            return False
    return True


def inspect_volume(layout: Layout, vol: Volume) -> dict[str, Any]:
    return {
        "CreatedAt": vol.created,
        "Driver": vol.driver,
        "Labels": None if vol.labels is None else dict(vol.labels),
        "Mountpoint": str(Engine.of(layout).volumes.data(vol.name)),
        "Name": vol.name,
        "Options": None if vol.options is None else dict(vol.options),
        "Scope": "local",
    }


def list_volumes(layout: Layout, filters: Iterable[tuple[str, str]] = ()) -> list[Volume]:
    """``volume ls`` with docker's filters: dangling=true|false, name=SUBSTRING, label=K[=V], driver=NAME.
    The same key given twice matches either value, different keys must all match."""
    vstore = Engine.of(layout).volumes
    by_key: dict[str, list[str]] = {}
    for k, v in filters:
        if k not in ("dangling", "name", "label", "driver"):
            raise DaemonError(f"Invalid filter '{k}'")  # docker's daemon's words and status (1)
        if k == "dangling" and v.lower() not in ("true", "false", "1", "0"):
            raise DaemonError(f"Invalid filter 'dangling=[{v}]'")
        by_key.setdefault(k, []).append(v)
    used: set[str] | None = None
    if "dangling" in by_key:
        used = {n for r in Engine.of(layout).containers.list() for n in volumes_of(r)}
    out = []
    for vol in vstore.list():
        if "name" in by_key and not any(s in vol.name for s in by_key["name"]):
            continue
        if "driver" in by_key and DRIVER not in by_key["driver"]:
            continue
        if "label" in by_key and not all(_labels_match(vol, [f]) for f in by_key["label"]):
            continue
        dangling = used is not None and vol.name not in used
        if used is not None and not any(dangling == (d.lower() in ("true", "1")) for d in by_key["dangling"]):
            continue
        out.append(vol)
    return out


def mounts_json(rec: ContainerRecord, layout: Layout) -> list[dict[str, Any]]:
    """inspect's ``Mounts``, with docker's fields for each kind (a ``--tmpfs`` is not one: docker shows it in
    HostConfig.Tmpfs only)."""
    vstore = Engine.of(layout).volumes
    out: list[dict[str, Any]] = []
    for m in sorted(rec.options.mounts, key=lambda m: m.target):
        if m.flag == "--tmpfs":
            continue
        if m.type == "volume":
            out.append({"Type": "volume", "Name": m.source, "Source": str(vstore.data(m.source)),
                        "Destination": m.target, "Driver": DRIVER, "Mode": m.mode, "RW": not m.readonly,
                        "Propagation": ""})  # fmt: skip
        elif m.type == "bind":
            prop = next((o for o in m.options if o.endswith(("private", "shared", "slave"))), "rprivate")
            out.append({"Type": "bind", "Source": m.source, "Destination": m.target, "Mode": m.mode,
                        "RW": not m.readonly, "Propagation": prop})  # fmt: skip
        else:
            out.append({"Type": m.type, "Source": "", "Destination": m.target, "Mode": "", "RW": not m.readonly,
                        "Propagation": ""})  # fmt: skip
    return out


@contextlib.contextmanager
def locked(layout: Layout) -> Iterator[None]:
    with Engine.of(layout).volumes.locked():
        yield
