"""Whiteouts and opaque markers, per the OCI image spec: they hide what lower layers have, never this layer's.

- ``OVERLAY``: ``.wh.name`` becomes a 0:0 character device ``name`` (unless this layer itself has
  ``name``); ``.wh..wh..opq`` sets ``trusted.overlay.opaque=y`` on its directory. Needs root.
- ``APPLY``: ``.wh.name`` deletes ``name`` from the tree unless this layer wrote it;
  ``.wh..wh..opq`` deletes everything under its directory that this layer did not write (wherever
  the marker sits in the stream). Other ``.wh..wh.*`` names (AUFS metadata) are ignored.

Whiteouts and opaque markers act when they are read, through parents resolved like any other
path (as umoci and containerd do); entries of this layer are spared whatever the order. Without
root, ``OVERLAY`` whiteouts fail (they are device nodes and a ``trusted.*`` xattr).
"""

from __future__ import annotations

import os
import stat
import tarfile

from geedocker.archive.options import WhiteoutPolicy
from geedocker.archive.root import Parts, set_xattr_at
from geedocker.archive.state import ApplyState
from geedocker.errors import ArchiveError, UnsafeEntryError
from geedocker.logger import get_logger

log = get_logger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
AUFS_META = ".wh..wh."
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"


class WhiteoutWriter(ApplyState):
    """What a whiteout or an opaque marker does, by policy (``NONE`` never gets here: names are plain)."""

    def whiteout(self, m: tarfile.TarInfo, parts: Parts) -> None:
        base = parts[-1]
        if base == OPAQUE_MARKER:
            if self.policy is WhiteoutPolicy.OVERLAY:
                self.overlay_opaque(m, parts[:-1])
            else:
                self.apply_opaque(m, parts[:-1])
            return
        if base.startswith(AUFS_META):
            log.debug("ignoring AUFS metadata entry %s", m.name)
            return
        target = base[len(WHITEOUT_PREFIX) :]
        if target in ("", ".", ".."):
            raise UnsafeEntryError(f"entry {m.name!r}: whiteout of {target!r} is not allowed")
        if self.policy is WhiteoutPolicy.OVERLAY:
            self.overlay_whiteout(m, parts[:-1], target)
        else:
            self.apply_whiteout(m, parts[:-1], target)

    def overlay_whiteout(self, m: tarfile.TarInfo, dparts: Parts, target: str) -> None:
        found = self.root.walk(dparts, True, m.name)
        assert found is not None
        pfd, preal = found
        key = "/".join((*preal, target))
        try:
            os.mknod(target, stat.S_IFCHR, os.makedev(0, 0), dir_fd=pfd)
        except FileExistsError:
            if key not in self.whiteouts:
                log.debug("entry %s: %s is in this layer; a whiteout hides lower layers only", m.name, key)
            return
        except PermissionError as e:
            raise ArchiveError(f"entry {m.name!r}: overlay whiteouts are character devices and need root") from e
        self.whiteouts.add(key)
        if self.is_root:
            os.chown(target, 0, 0, dir_fd=pfd, follow_symlinks=False)

    def overlay_opaque(self, m: tarfile.TarInfo, dparts: Parts) -> None:
        found = self.root.walk(dparts, True, m.name)
        assert found is not None
        try:
            set_xattr_at(found[0], ".", OVERLAY_OPAQUE_XATTR, b"y")
        except OSError as e:
            raise ArchiveError(f"entry {m.name!r}: setting {OVERLAY_OPAQUE_XATTR}: {e.strerror}") from e

    def apply_whiteout(self, m: tarfile.TarInfo, dparts: Parts, target: str) -> None:
        found = self.root.walk(dparts, False, m.name)
        if found is None:
            return  # nothing below to hide
        pfd, preal = found
        self.touch(pfd, preal)
        real = (*preal, target)
        if "/".join(real) in self.written:
            # this layer's own entry stays; if it is a directory, what lower layers had in it goes
            try:
                st = os.stat(target, dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                return
            if stat.S_ISDIR(st.st_mode):
                self.clear_lower(pfd, target, real)
            return
        self.root.remove(pfd, target)

    def apply_opaque(self, m: tarfile.TarInfo, dparts: Parts) -> None:
        found = self.root.walk(dparts, False, m.name)
        if found is None:
            return
        self.clear_lower(found[0], ".", found[1])

    def clear_lower(self, pfd: int, name: str, real: Parts) -> None:
        """Delete everything under directory ``name`` that this layer did not write."""
        self.root.invalidate()
        top = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        stack: list[tuple[int, Parts]] = [(top, real)]
        try:
            while stack:
                fd, dreal = stack.pop()
                try:
                    self.touch(fd, dreal)
                    for child in os.listdir(fd):
                        creal = (*dreal, child)
                        if "/".join(creal) not in self.written:
                            self.root.remove(fd, child)
                            continue
                        st = os.stat(child, dir_fd=fd, follow_symlinks=False)
                        if stat.S_ISDIR(st.st_mode):
                            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
                            stack.append((os.open(child, flags, dir_fd=fd), creal))
                finally:
                    os.close(fd)
        finally:
            for fd, _ in stack:
                os.close(fd)
