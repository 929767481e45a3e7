"""Device nodes in the container's /dev: the default set, the spec's ``linux.devices``, the symlinks.

Outside a user namespace nodes are made with mknod; inside one (where mknod is not allowed) the
host's node is bind-mounted onto an empty file, as runc does.
"""

from __future__ import annotations

import contextlib
import os
import stat

from geedocker.errors import ContainerError
from geedocker.runtime import paths, syscalls
from geedocker.runtime.spec_linux import Device
from geedocker.values import value


@value
class Node:
    path: str
    type: str  # c, b, u (unbuffered char), p (fifo)
    major: int
    minor: int
    mode: int = 0o666
    uid: int = 0
    gid: int = 0


DEFAULT_DEVICES: tuple[Node, ...] = (
    Node("/dev/null", "c", 1, 3),
    Node("/dev/zero", "c", 1, 5),
    Node("/dev/full", "c", 1, 7),
    Node("/dev/random", "c", 1, 8),
    Node("/dev/urandom", "c", 1, 9),
    Node("/dev/tty", "c", 5, 0),
)

DEFAULT_SYMLINKS: tuple[tuple[str, str], ...] = (
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
)


class DeviceError(ContainerError):
    """A device node that could not be created."""


def from_spec(d: Device) -> Node:
    return Node(d.path, d.type, d.major, d.minor, 0o666 if d.file_mode is None else d.file_mode & 0o7777,
                d.uid or 0, d.gid or 0)


def create(rootfs: str, node: Node, *, bind: bool) -> None:
    target = paths.secure_join(rootfs, node.path)
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    if os.path.lexists(target):
        st = os.lstat(target)
        if stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode):
            raise DeviceError(f"device {node.path}: a {'symlink' if stat.S_ISLNK(st.st_mode) else 'directory'} "
                              "is in the way in the rootfs")
        os.unlink(target)
    try:
        if bind:
            fd = os.open(target, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            os.close(fd)
            with paths.mount_target(rootfs, target) as t:
                syscalls.mount(node.path, t, None, syscalls.MS_BIND)
            return
        kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[node.type]
        os.mknod(target, kind | (node.mode & 0o7777), os.makedev(node.major, node.minor))
        os.chmod(target, node.mode & 0o7777, follow_symlinks=False)
        os.chown(target, node.uid, node.gid, follow_symlinks=False)
    except OSError as e:
        raise DeviceError(f"creating device {node.path} ({node.type} {node.major}:{node.minor}): {e}") from e


def symlinks(rootfs: str) -> None:
    for src, dst in DEFAULT_SYMLINKS:
        target = paths.secure_join(rootfs, dst)
        if os.path.lexists(target):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.symlink(src, target)


def populate(rootfs: str, extra: tuple[Device, ...], *, bind: bool) -> None:
    """The default devices, the spec's devices (which win on the same path) and the /dev symlinks."""
    wanted = {n.path: n for n in DEFAULT_DEVICES}
    for d in extra:
        wanted[d.path] = from_spec(d)
    for node in wanted.values():
        create(rootfs, node, bind=bind)
    symlinks(rootfs)
