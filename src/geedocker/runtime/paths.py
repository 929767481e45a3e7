"""Resolve paths inside a container's root filesystem without ever leaving it.

``secure_join(root, path)`` walks ``path`` one component at a time below ``root``; a symlink is read
and resolved again *relative to root* (an absolute target restarts at root, ``..`` stops at root), so a
symlinked ``/proc`` or ``/dev`` in an image can never point a mount at the host. ``open_inside`` then
opens the result with O_PATH|O_NOFOLLOW and checks, through ``/proc/self/fd``, that what was opened
really is below root: mounts target ``/proc/self/fd/N`` so a path swapped in between cannot redirect them
(``mount_target``, the one way mounts are aimed).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections import deque

from geedocker.errors import ContainerError

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_SYMLINKS = 255


class UnsafePathError(ContainerError):
    """A path inside the rootfs that escapes it or cannot be resolved safely."""


def secure_join(root: str, unsafe: str) -> str:
    """``root`` joined with ``unsafe``, every existing symlink resolved within ``root``."""
    root = os.path.abspath(root)
    parts: deque[str] = deque(unsafe.split("/"))
    resolved: list[str] = []
    links = 0
    while parts:
        comp = parts.popleft()
        if comp in ("", "."):
            continue
        if comp == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, comp)
        try:
            st = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            resolved.append(comp)
            continue
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAX_SYMLINKS:
                raise UnsafePathError(f"{unsafe}: too many levels of symbolic links inside {root}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts.extendleft(reversed(target.split("/")))
            continue
        resolved.append(comp)
    return os.path.join(root, *resolved)


def is_below(root: str, path: str) -> bool:
    root = os.path.abspath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def open_inside(root: str, path: str) -> int:
    """An O_PATH fd on ``path`` (already secure-joined below ``root``), verified to be below ``root``."""
    fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        real = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        os.close(fd)
        raise
    if not is_below(root, real):
        os.close(fd)
        raise UnsafePathError(f"{path} resolves to {real}, outside the container root {root}")
    return fd


def fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


@contextlib.contextmanager
def via_fd(fd: int) -> Iterator[str]:
    """``/proc/self/fd/N`` of the O_PATH ``fd``, closed after the block: what is done on that path (a mount)
    lands on what the fd holds, however the path that led to it was changed since it was opened and checked."""
    try:
        yield fd_path(fd)
    finally:
        os.close(fd)


def mount_target(root: str, path: str) -> contextlib.AbstractContextManager[str]:
    """``path`` (secure-joined below ``root``) opened with ``open_inside``, as a path to mount on (``via_fd``).
    Open it again after a mount there to reach the mounted tree."""
    return via_fd(open_inside(root, path))


def make_target(root: str, dest: str, *, directory: bool) -> str:
    """Securely resolve ``dest`` below ``root`` and create it (a dir, or an empty file) if missing."""
    target = secure_join(root, dest)
    parent = os.path.dirname(target) if not directory else target
    os.makedirs(parent, mode=0o755, exist_ok=True)
    if not directory and not os.path.lexists(target):
        fd = os.open(target, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        os.close(fd)
    # Creating directories cannot have introduced symlinks, but resolve once more to be exact.
    again = secure_join(root, dest)
    if again != target:
        raise UnsafePathError(f"{dest}: changed while being created inside {root}")
    return target
