"""Writing one entry of a layer into the tree: files, directories, symlinks, hard links, devices and FIFOs.

Each kind is created beside its parent's directory fd (resolved inside the root by ``Root.walk``), never
following the final component: files are opened ``O_CREAT | O_EXCL | O_NOFOLLOW``, and an existing entry
in the way is removed first (``make_room``): a directory over a directory is kept, as tar does; with
``Extract.keep_kinds`` a directory and a non-directory never replace each other. Hard link targets are
resolved inside the root the same way, so they are always inside it: in ``OVERLAY`` mode that is this
layer's own directory. Owners are numeric and set only when we are root; modes after chown (which clears
setuid/setgid); times last, symlinks without following. Without root, device nodes are skipped with a
warning.
"""

from __future__ import annotations

import os
import stat
import tarfile
from typing import IO, cast

from geedocker.archive.metadata import entry_atime, ns, pax_xattrs, set_entry_xattr
from geedocker.archive.options import WhiteoutPolicy
from geedocker.archive.root import Parts, clean_parts, set_xattr_at
from geedocker.archive.state import ApplyState
from geedocker.archive.whiteouts import OVERLAY_OPAQUE_XATTR
from geedocker.errors import ArchiveError, LimitExceededError, UnsafeEntryError
from geedocker.logger import get_logger

log = get_logger(__name__)

_READ_CHUNK = 1 << 20
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class EntryWriter(ApplyState):
    """The writers of each entry kind, called by the applier with the entry's parent fd and name."""


    def make_room(self, pfd: int, name: str, real: Parts, keep_dir: bool) -> bool:
        """Clear the way for a new entry at ``name``; True if an existing directory is kept."""
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if keep_dir and stat.S_ISDIR(st.st_mode):
            return True
        if self.extract.keep_kinds and stat.S_ISDIR(st.st_mode) != keep_dir:
            what = ("directory", "non-directory") if stat.S_ISDIR(st.st_mode) else ("non-directory", "directory")
            raise ArchiveError(f"cannot overwrite {what[0]} {'/'.join(real)!r} with {what[1]}")
        self.root.remove(pfd, name)
        return False

    def regular(self, m: tarfile.TarInfo, pfd: int, name: str, real: Parts) -> None:
        self.file_bytes += m.size
        if self.file_bytes > self.limits.max_bytes:
            raise LimitExceededError(
                f"entry {m.name!r}: layer contents exceed the limit of {self.limits.max_bytes} bytes"
            )
        mode = m.mode & 0o7777
        try:
            fd = os.open(name, _FILE_FLAGS, mode & 0o777, dir_fd=pfd)
        except FileExistsError:
            self.make_room(pfd, name, real, keep_dir=False)
            fd = os.open(name, _FILE_FLAGS, mode & 0o777, dir_fd=pfd)
        try:
            if m.issparse():
                self.copy_sparse(m, fd)
            elif m.size:
                if self.src.tell() != m.offset_data:
                    self.src.seek(m.offset_data)
                self.src.copy_to_fd(fd, m.size, m.name, pad=True)
            if self.is_root:
                os.fchown(fd, m.uid, m.gid)
            if m.pax_headers:
                for key, data in pax_xattrs(m):
                    set_entry_xattr(m, fd, key, data)
            if mode & self.chmod_bits:  # special bits (chown clears them) or bits the umask took
                os.fchmod(fd, mode)
            mtime = ns(m.mtime)
            os.utime(fd, ns=(entry_atime(m, mtime) if m.pax_headers else mtime, mtime))
        finally:
            os.close(fd)

    def copy_sparse(self, m: tarfile.TarInfo, fd: int) -> None:
        tf = tarfile.TarFile.__new__(tarfile.TarFile)  # extractfile only needs fileobj
        tf.fileobj = cast(IO[bytes], self.src)
        reader = tarfile.ExFileObject(tf, m)
        got = 0
        while True:
            data = reader.read(_READ_CHUNK)
            if not data:
                break
            got += len(data)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        if got != m.size:
            raise ArchiveError(f"entry {m.name!r}: sparse file data is truncated")

    def directory(self, m: tarfile.TarInfo, pfd: int, name: str, real: Parts) -> None:
        if name != ".":
            try:
                os.mkdir(name, 0o700, dir_fd=pfd)
            except FileExistsError:
                if not self.make_room(pfd, name, real, keep_dir=True):
                    os.mkdir(name, 0o700, dir_fd=pfd)
                elif not self.is_root:
                    os.chmod(name, 0o700, dir_fd=pfd)  # until the end, so we can write into it
            if self.policy is WhiteoutPolicy.OVERLAY and "/".join(real) in self.whiteouts:
                # a directory in place of a path whited out earlier in this layer hides the lower one
                self.whiteouts.discard("/".join(real))
                set_xattr_at(pfd, name, OVERLAY_OPAQUE_XATTR, b"y")
        if self.is_root:
            os.chown(name, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
        for key, data in pax_xattrs(m):
            set_entry_xattr(m, (pfd, name), key, data)
        mtime = ns(m.mtime)
        self.dir_meta[real] = (m.mode & 0o7777, entry_atime(m, mtime), mtime)

    def symlink(self, m: tarfile.TarInfo, pfd: int, name: str, real: Parts) -> None:
        target = m.linkname
        if not target:
            raise ArchiveError(f"entry {m.name!r}: symlink with an empty target")
        if "\x00" in target:
            raise UnsafeEntryError(f"entry {m.name!r}: symlink target contains a NUL byte")
        try:
            os.symlink(target, name, dir_fd=pfd)
        except FileExistsError:
            self.make_room(pfd, name, real, keep_dir=False)
            os.symlink(target, name, dir_fd=pfd)
        self.whiteouts.discard("/".join(real))
        if self.is_root:
            os.chown(name, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
        for key, data in pax_xattrs(m):
            set_entry_xattr(m, (pfd, name), key, data)
        mtime = ns(m.mtime)
        os.utime(name, ns=(entry_atime(m, mtime), mtime), dir_fd=pfd, follow_symlinks=False)

    def hardlink(self, m: tarfile.TarInfo, pfd: int, name: str, real: Parts) -> None:
        if not m.linkname:
            raise ArchiveError(f"entry {m.name!r}: hard link with an empty target")
        tparts = clean_parts(m.linkname, m.name)
        if not tparts:
            raise UnsafeEntryError(f"entry {m.name!r}: hard link to the root directory")
        found = self.root.walk(tparts[:-1], False, m.name)
        if found is None:
            raise ArchiveError(f"entry {m.name!r}: hard link target {m.linkname!r} not found")
        tfd, treal = found
        if (*treal, tparts[-1]) == real:
            return  # a link to itself: nothing to do
        try:
            st = os.stat(tparts[-1], dir_fd=tfd, follow_symlinks=False)
        except FileNotFoundError as e:
            raise ArchiveError(f"entry {m.name!r}: hard link target {m.linkname!r} not found") from e
        if stat.S_ISDIR(st.st_mode):
            raise UnsafeEntryError(f"entry {m.name!r}: hard link to a directory {m.linkname!r}")
        try:
            os.link(tparts[-1], name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        except FileExistsError:
            self.make_room(pfd, name, real, keep_dir=False)
            os.link(tparts[-1], name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        self.whiteouts.discard("/".join(real))

    def special(self, m: tarfile.TarInfo, pfd: int, name: str, real: Parts) -> None:
        mode = m.mode & 0o7777
        try:
            self.mknod(m, pfd, name)
        except FileExistsError:
            self.make_room(pfd, name, real, keep_dir=False)
            self.mknod(m, pfd, name)
        except PermissionError:
            if self.is_root:
                raise
            log.warning("skipping device %s: creating device nodes needs root", m.name)
            return
        self.whiteouts.discard("/".join(real))
        if self.is_root:
            os.chown(name, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
        for key, data in pax_xattrs(m):
            set_entry_xattr(m, (pfd, name), key, data)
        os.chmod(name, mode, dir_fd=pfd)
        mtime = ns(m.mtime)
        os.utime(name, ns=(entry_atime(m, mtime), mtime), dir_fd=pfd, follow_symlinks=False)

    def mknod(self, m: tarfile.TarInfo, pfd: int, name: str) -> None:
        if m.type == tarfile.FIFOTYPE:
            os.mkfifo(name, 0o600, dir_fd=pfd)
        else:
            kind = stat.S_IFCHR if m.type == tarfile.CHRTYPE else stat.S_IFBLK
            os.mknod(name, kind | 0o600, os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
