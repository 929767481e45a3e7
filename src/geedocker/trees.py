"""Removing a directory tree: the one helper for the store, the archive code and the runtime; and measuring one
(``content_size``, docker's size of a writable layer or a volume).

Not ``shutil.rmtree``: importing shutil pulls in bz2, lzma and fnmatch on the container start path, and a
hostile layer can nest directories thousands deep (this walk is iterative) or leave them read-only or
mode 0 (made writable on the way). Walks with directory fds and never follows a symlink.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_LIST_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _make_writable(dir_fd: int) -> None:
    """Give the owner rwx on an open directory (to delete in dirs left read-only by a layer)."""
    if dir_fd == -1:
        return
    try:
        os.chmod(".", stat.S_IRWXU | stat.S_IMODE(os.stat(".", dir_fd=dir_fd).st_mode), dir_fd=dir_fd)
    except OSError:
        pass


def unlink_at(dir_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except PermissionError:
        _make_writable(dir_fd)
        os.unlink(name, dir_fd=dir_fd)


def _rmdir_at(dir_fd: int, name: str) -> None:
    try:
        os.rmdir(name, dir_fd=dir_fd)
    except PermissionError:
        _make_writable(dir_fd)
        os.rmdir(name, dir_fd=dir_fd)


def _open_list(dir_fd: int, name: str) -> int:
    try:
        return os.open(name, _LIST_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        # a directory with mode 0 or without r/x: give ourselves access (we own it, or we are root)
        os.chmod(name, stat.S_IRWXU, dir_fd=dir_fd)
        return os.open(name, _LIST_FLAGS, dir_fd=dir_fd)


def rmtree_at(dir_fd: int, name: str, *, ignore_errors: bool = False) -> None:
    """Delete the directory ``name`` in ``dir_fd`` and everything below, never following a symlink.

    Iterative (a hostile layer can nest thousands of levels); read-only or mode-0 directories are
    made writable on the way. With ``ignore_errors``, what cannot be removed is left and the rest goes.
    """
    try:
        top = _open_list(dir_fd, name)
        top_names = os.listdir(top)
    except OSError:
        if ignore_errors:
            return
        raise
    # frames: (fd of the directory, its names left to visit, fd of its parent, its name)
    stack: list[tuple[int, list[str], int, str]] = [(top, top_names, dir_fd, name)]
    try:
        while stack:
            fd, names, parent_fd, own = stack[-1]
            if not names:
                stack.pop()
                os.close(fd)
                try:
                    _rmdir_at(parent_fd, own)
                except OSError:
                    if not ignore_errors:
                        raise
                continue
            n = names.pop()
            try:
                st = os.stat(n, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    child = _open_list(fd, n)
                    try:
                        stack.append((child, os.listdir(child), fd, n))
                    except OSError:
                        os.close(child)
                        raise
                else:
                    unlink_at(fd, n)
            except FileNotFoundError:
                continue
            except OSError:
                if not ignore_errors:
                    raise
    finally:
        for fd, _, _, _ in stack:
            os.close(fd)


def rmtree(path: Path | str, *, ignore_errors: bool = False) -> None:
    """Delete ``path`` (a directory tree, a file or a symlink) robustly; nothing if it is missing. With
    ``ignore_errors`` (as ``shutil.rmtree``'s), what cannot be removed is left and the caller checks."""
    path = Path(path)
    try:
        parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except OSError:
        if ignore_errors:
            return
        raise
    try:
        st = os.stat(path.name, dir_fd=parent, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            rmtree_at(parent, path.name, ignore_errors=ignore_errors)
        else:
            unlink_at(parent, path.name)
    except FileNotFoundError:
        return
    except OSError as e:
        if e.errno == errno.ENOENT or ignore_errors:
            return
        raise
    finally:
        os.close(parent)


def content_size(top: Path | str) -> int:
    """The bytes of the regular files under ``top``, a hard-linked file once (docker's directory size); 0 when
    ``top`` is missing."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for d, _dirs, files in os.walk(top):
        for name in files:
            try:
                st = os.lstat(os.path.join(d, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
