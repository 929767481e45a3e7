"""The ``local`` driver's mounts: a volume made with ``-o type=... [-o device=...] [-o o=...]`` is mounted on its
``_data`` while containers use it, as docker's local driver does (``mount -t TYPE -o O DEVICE _data``).

docker keeps a reference count in its daemon; without a daemon, "in use" is read from the mount table (see
``geedocker.containers.volumes``: a volume whose ``_data`` is a mount point is mounted, and it is unmounted when
no running container needs it any more).
"""

from __future__ import annotations

from geedocker.errors import VolumeError
from geedocker.runtime import syscalls
from geedocker.runtime.rootfs import FLAG_OPTIONS, PROPAGATION
from geedocker.volumes.store import Volume, VolumeStore


def needs_mount(vol: Volume) -> bool:
    return bool(vol.option("type") or vol.option("device"))


def mount_arguments(vol: Volume) -> tuple[str, str, int, str]:
    """(source, fstype, flags, data) for mount(2), from the volume's options (``o`` split as docker does: the
    flags it knows become mount flags, the rest is data for the file system)."""
    fstype = vol.option("type")
    device = vol.option("device") or fstype
    flags = 0
    data: list[str] = []
    for opt in filter(None, vol.option("o").split(",")):
        if opt in FLAG_OPTIONS:
            set_, clear = FLAG_OPTIONS[opt]
            flags = (flags | set_) & ~clear
        elif opt in PROPAGATION:
            flags |= PROPAGATION[opt]
        else:
            data.append(opt)
    if fstype in ("none", "") and not flags & syscalls.MS_BIND:
        raise VolumeError(f"volume {vol.name}: type {fstype or 'none'!r} needs o=bind (or a file system type)")
    return device, fstype or "none", flags, ",".join(data)


def mount(store: VolumeStore, vol: Volume) -> None:
    """Mount a tmpfs/device volume on its ``_data`` (the caller checked it is not mounted yet)."""
    target = store.data(vol.name)
    source, fstype, flags, data = mount_arguments(vol)
    try:
        syscalls.mount(source, target, fstype, flags, data or None)
    except OSError as e:
        raise VolumeError(
            f"error while mounting volume '{target}': failed to mount local volume: mount {source}:{target}, "
            f"flags: {flags:#x}, data: {data}: {e.strerror or e}"
        ) from e
