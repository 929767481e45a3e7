"""Paths in a container's root filesystem as ``cp`` and the archive endpoints reach them: ``(dir fd, name)``
pairs found through an opened ``archive.root.Root`` (every symlink resolves inside the root, as in a chroot; the
last one is followed only when asked, ``-L``), their ``/proc/self/fd`` paths and their stat. Apart from
``containers.paths`` (which resolves one path under a ``Path`` root for the start path) because these walk a
root held as directory fds in the copying child, where a path the container could swap is never used.
"""

from __future__ import annotations

import os
import stat

from geedocker.archive.root import Root, clean_parts
from geedocker.containers.copyerrors import CopyError


def fd_path(dir_fd: int, name: str) -> str:
    return f"/proc/self/fd/{dir_fd}" + ("" if name == "." else f"/{name}")


def lookup(root: Root, path: str, follow: bool) -> tuple[int, str, tuple[str, ...]] | None:
    """``copy._resolve`` and the real path it reached, as parts from the root (empty for the root itself)."""
    parts = clean_parts(path, path)
    if not parts:
        return root.fd, ".", ()
    for _ in range(40):
        found = root.walk(parts[:-1], False, path)
        if found is None:
            return None
        pfd, preal = found
        name = parts[-1]
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if not (follow and stat.S_ISLNK(st.st_mode)):
            return pfd, name, (*preal, name)
        target = os.readlink(name, dir_fd=pfd)
        joined = target if target.startswith("/") else "/".join((*preal, target))
        parts = clean_parts(lexical(joined), path)
        if not parts:
            return root.fd, ".", ()
    raise CopyError(f"{path}: too many levels of symbolic links")


def lexical(path: str) -> str:
    """``..`` above the top is dropped (as a chroot does) rather than refused."""
    out: list[str] = []
    for p in path.split("/"):
        if p == "..":
            if out:
                out.pop()
        elif p not in ("", "."):
            out.append(p)
    return "/".join(out)


def lstat_at(dir_fd: int, name: str) -> os.stat_result:
    """``lstat`` of ``name`` in ``dir_fd``; ``"."`` is the directory itself (its ``/proc/self/fd`` path is a
    symlink)."""
    return os.fstat(dir_fd) if name == "." else os.lstat(fd_path(dir_fd, name))


def dir_at(dir_fd: int, name: str) -> bool:
    return stat.S_ISDIR(lstat_at(dir_fd, name).st_mode)
