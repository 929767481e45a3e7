"""A directory tree that paths are resolved inside of, like a chroot, never following host symlinks.

Every path from an archive is walked one component at a time from a directory file descriptor of the
root (``openat`` with ``O_PATH | O_DIRECTORY | O_NOFOLLOW``). A component that is a symlink is
resolved by us, *inside* the root: an absolute target restarts at the root, ``..`` stops at the root
(the semantics of ``openat2(RESOLVE_IN_ROOT)`` and of containerd's ``fs.RootPath``). The final
component of a path is never followed: callers pass the parent's fd and the name to ``*at`` calls.

Resolved directories are cached by their real path (a path without symlinks); the cache is dropped
whenever a directory or a symlink is removed or replaced, so a symlink swapped in for a directory in the
same layer is always seen.
"""

from __future__ import annotations

import collections
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from geedocker.errors import ArchiveError, UnsafeEntryError
from geedocker.trees import rmtree as rmtree  # its old home: callers may still import it from here
from geedocker.trees import rmtree_at, unlink_at

MAX_SYMLINK_HOPS = 40
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
_CACHE_SIZE = 256

_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

Parts = tuple[str, ...]


def clean_parts(name: str, entry: str) -> Parts:
    """Split an archive path into components, lexically resolving ``.`` and ``..``.

    A leading ``/`` is dropped (as tar does: archive paths are relative to the root). A ``..`` that
    would climb above the root, a NUL, or a name over the kernel's limits is refused.
    """
    if "\x00" in name:
        raise UnsafeEntryError(f"entry {entry!r}: name contains a NUL byte")
    if len(name) > MAX_PATH_BYTES // 4 and len(os.fsencode(name)) > MAX_PATH_BYTES:
        raise ArchiveError(f"entry {entry[:80]!r}...: name longer than {MAX_PATH_BYTES} bytes")
    split = name.split("/")
    if max(map(len, split)) > MAX_NAME_BYTES // 4:  # a UTF-8 character is at most 4 bytes
        for part in split:
            if len(os.fsencode(part)) > MAX_NAME_BYTES:
                raise ArchiveError(
                    f"entry {entry[:80]!r}...: a path component is longer than {MAX_NAME_BYTES} bytes"
                )
    if "" not in split and "." not in split and ".." not in split:
        return tuple(split)  # the common case: nothing to clean
    out: list[str] = []
    for part in split:
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                raise UnsafeEntryError(f"entry {entry!r}: path escapes the root with '..'")
            out.pop()
            continue
        out.append(part)
    return tuple(out)


def set_xattr_at(dir_fd: int, name: str, key: str, value: bytes) -> None:
    """``setxattr`` on ``name`` in ``dir_fd`` (``"."``: the directory itself), never following a symlink.

    There is no ``setxattrat`` before Linux 6.13: the path goes through ``/proc/self/fd``, whose
    entry for ``dir_fd`` is followed (it is the directory we resolved) while ``name`` is not.
    """
    if name == ".":
        os.setxattr(f"/proc/self/fd/{dir_fd}", key, value)
    else:
        os.setxattr(f"/proc/self/fd/{dir_fd}/{name}", key, value, follow_symlinks=False)


class Root:
    """An open directory tree; resolve parents with ``walk``, then act with ``*at`` calls on (fd, name)."""

    def __init__(self, path: Path, on_mkdir: Callable[[Parts], None] | None = None) -> None:
        self.path = path
        self.fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self._cache: collections.OrderedDict[Parts, int] = collections.OrderedDict()
        self._retired: list[int] = []
        self._pinned: set[int] = set()  # fds handed out since the last release(): never closed early
        self.on_mkdir = on_mkdir

    def close(self) -> None:
        self.invalidate()
        self.release()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the cache of resolved directories ---------------------------------------------------------

    def invalidate(self) -> None:
        """Forget every resolved directory (after a directory or symlink was removed or replaced)."""
        self._retired.extend(self._cache.values())
        self._cache.clear()

    def release(self) -> None:
        """Close fds evicted from the cache; call between entries (never while a walk's fd is in use)."""
        for fd in self._retired:
            os.close(fd)
        self._retired.clear()
        self._pinned.clear()

    def _remember(self, real: Parts, fd: int) -> None:
        old = self._cache.pop(real, None)
        if old is not None:
            self._retired.append(old)
        self._cache[real] = fd
        if len(self._cache) > _CACHE_SIZE:
            _, evicted = self._cache.popitem(last=False)
            if evicted in self._pinned:
                self._retired.append(evicted)
            else:
                os.close(evicted)  # deep paths must not pile up open fds

    # -- resolution ---------------------------------------------------------------------------------

    def walk(self, parts: Sequence[str], create: bool, entry: str) -> tuple[int, Parts] | None:
        """Resolve the directory ``parts`` inside the root; return its O_PATH fd and its real path.

        Missing directories are made (mode 0755, reported to ``on_mkdir``) when ``create`` is true,
        otherwise the answer is ``None``; so is a component that is not a directory when not creating.
        The fd belongs to the cache: do not close it.
        """
        key = tuple(parts)
        if not key:
            return self.fd, ()
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            self._pinned.add(hit)
            return hit, key
        pending = collections.deque(key)
        cur_fd: int = self.fd
        cur: Parts = ()
        hops = 0
        while pending:
            name = pending.popleft()
            if name in ("", "."):
                continue
            if name == "..":
                if cur:
                    cur = cur[:-1]
                    found = self.walk(cur, False, entry)
                    if found is None:  # pragma: no cover - a real path we just walked through
                        raise ArchiveError(f"entry {entry!r}: directory {'/'.join(cur)!r} vanished")
                    cur_fd = found[0]
                continue
            child = (*cur, name)
            hit = self._cache.get(child)
            if hit is not None:
                self._cache.move_to_end(child)
                cur_fd, cur = hit, child
                continue
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=cur_fd)
            except FileNotFoundError:
                if not create:
                    return None
                os.mkdir(name, 0o755, dir_fd=cur_fd)
                if self.on_mkdir is not None:
                    self.on_mkdir(child)
                fd = os.open(name, _DIR_FLAGS, dir_fd=cur_fd)
            except NotADirectoryError as e:
                st = os.stat(name, dir_fd=cur_fd, follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    if not create:
                        return None
                    raise ArchiveError(
                        f"entry {entry!r}: {'/'.join(child)!r} is not a directory"
                    ) from e
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise UnsafeEntryError(f"entry {entry!r}: too many levels of symbolic links") from e
                target = os.readlink(name, dir_fd=cur_fd)
                if target.startswith("/"):
                    cur_fd, cur = self.fd, ()
                pending.extendleft(reversed(target.split("/")))
                continue
            self._remember(child, fd)
            cur_fd, cur = fd, child
        self._pinned.add(cur_fd)
        return cur_fd, cur

    # -- removal ------------------------------------------------------------------------------------

    def remove(self, dir_fd: int, name: str) -> bool:
        """Remove ``name`` (a whole tree if a directory) from ``dir_fd``; False if it did not exist."""
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            self.invalidate()
            rmtree_at(dir_fd, name)
        else:
            if stat.S_ISLNK(st.st_mode):
                self.invalidate()
            unlink_at(dir_fd, name)
        return True
