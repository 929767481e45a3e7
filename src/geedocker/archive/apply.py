"""Apply one layer tar stream to a directory, exactly and safely.

``apply_layer(stream, dest, policy)`` reads a (gzip, zstd or plain) layer and writes each entry
itself: ``tarfile`` only parses headers, nothing is extracted by it. What a layer says is what the
tree gets: file data, modes (setuid/setgid/sticky, applied after chown), numeric owners (when we are
root), mtimes (directories after their children, symlinks without following), xattrs from PAX
``SCHILY.xattr.*`` and ``LIBARCHIVE.xattr.*``, hard links, symlinks, devices and FIFOs.

Safety (see ``root.py``): a path is cleaned lexically (leading ``/`` dropped, a ``..`` above the root
refused), its parent is walked inside ``dest`` with symlinks resolved *inside* ``dest`` (like a
chroot, as containerd does), and the final component is never followed. Hard link targets are
resolved the same way, so they are always inside ``dest``: in ``OVERLAY`` mode that is this layer's
own directory. Nothing is ever written outside ``dest``.

Whiteouts, per the OCI image spec, apply to lower layers only:

- ``OVERLAY``: ``.wh.name`` becomes a 0:0 character device ``name`` (unless this layer itself has
  ``name``); ``.wh..wh..opq`` sets ``trusted.overlay.opaque=y`` on its directory. Needs root.
- ``APPLY``: ``.wh.name`` deletes ``name`` from the tree unless this layer wrote it;
  ``.wh..wh..opq`` deletes everything under its directory that this layer did not write (wherever
  the marker sits in the stream). Other ``.wh..wh.*`` names (AUFS metadata) are ignored.

Whiteouts and opaque markers act when they are read, through parents resolved like any other
path (as umoci and containerd do); entries of this layer are spared whatever the order. A lower
directory that this layer changes without listing it keeps its times (as umoci does). Without root:
ownership is not changed, device nodes are skipped (with a warning), privileged xattrs are skipped,
and ``OVERLAY`` whiteouts fail (they are device nodes and a ``trusted.*`` xattr).

The stream's end: a tar ends at a zero block; zero padding after it is read (and hashed); non-zero
bytes after it are refused (another reader might take them for more entries). A stream that ends
cleanly at a header boundary without the marker is accepted (as Go's archive/tar does); a stream cut
inside a header or inside file data is refused.
"""

from __future__ import annotations

import base64
import enum
import errno
import os
import stat
import tarfile
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from geedocker.archive.compression import open_decompressed
from geedocker.archive.header import FastTarInfo
from geedocker.archive.root import Parts, Root, clean_parts, set_xattr_at
from geedocker.archive.source import BLOCK, TarSource
from geedocker.digest import Digest
from geedocker.errors import ArchiveError, DiskFullError, GeeDockerError, LimitExceededError, UnsafeEntryError
from geedocker.logger import get_logger
from geedocker.values import value

log = get_logger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
_AUFS_META = ".wh..wh."
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
_READ_CHUNK = 1 << 20
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.GNUTYPE_SPARSE)
# headers that carry everything in themselves (no extended records follow)
_PLAIN_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE,
                tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)
# xattrs a layer may not set: they would steer overlayfs itself (redirects, metacopy, opaque)
_FORBIDDEN_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")


class WhiteoutPolicy(enum.Enum):
    """What whiteout entries become."""

    OVERLAY = "overlay"  # an overlayfs lower dir: 0:0 char devices and the opaque xattr
    APPLY = "apply"  # flatten onto the tree below: delete what the whiteouts hide
    NONE = "none"  # a plain archive (``cp``): ``.wh.`` names are ordinary files


@value
class Limits:
    """Caps against archive bombs: uncompressed bytes (stream and file contents) and entries."""

    max_bytes: int = 64 << 30
    max_entries: int = 1_000_000


DEFAULT_LIMITS = Limits()


@value
class ApplyResult:
    """``diff_id``: sha256 of the whole uncompressed stream; ``size``: its length; ``entries``: tar members."""

    diff_id: Digest
    size: int
    entries: int


def _ns(t: float | int) -> int:
    return int(t) * 1_000_000_000 if isinstance(t, int) else int(round(t * 1_000_000_000))


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would, racing other threads)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o777  # unknown: always chmod


def _xattrs(member: tarfile.TarInfo) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for key, text in member.pax_headers.items():
        if key.startswith("SCHILY.xattr."):
            out.append((key[len("SCHILY.xattr.") :], text.encode("utf-8", "surrogateescape")))
        elif key.startswith("LIBARCHIVE.xattr."):
            name = urllib.parse.unquote(key[len("LIBARCHIVE.xattr.") :])
            try:
                out.append((name, base64.b64decode(text + "=" * (-len(text) % 4))))
            except ValueError as e:
                raise ArchiveError(f"entry {member.name!r}: bad base64 in xattr {name!r}") from e
    return out


@value
class Extract:
    """How a plain archive (``cp``, the Engine API's archive upload) lands: ``keep_kinds`` refuses to replace a
    directory with a non-directory or the reverse (docker's ``noOverwriteDirNonDir``); ``owner`` (uid, gid)
    owns every entry instead of the archive's owners."""

    keep_kinds: bool = False
    owner: tuple[int, int] | None = None


AS_ARCHIVED = Extract()


class _Applier:
    def __init__(self, root: Root, policy: WhiteoutPolicy, limits: Limits, src: TarSource,
                 extract: Extract = AS_ARCHIVED) -> None:  # fmt: skip
        self.root = root
        self.policy = policy
        self.extract = extract
        self.limits = limits
        self.src = src
        self.is_root = os.geteuid() == 0
        self.chmod_bits = 0o7000 | _umask()
        self.entries = 0
        self.file_bytes = 0
        # APPLY: real paths this layer wrote (with their ancestors): whiteouts and opaque markers spare them
        self.written: set[str] = set()
        # OVERLAY: whiteout devices this layer made (a later entry of the same name replaces one)
        self.whiteouts: set[str] = set()
        # directory metadata, set at the end, deepest first: real path -> (mode, atime ns, mtime ns).
        # APPLY: a lower directory this layer changes without listing it keeps its times (mode None)
        self.dir_meta: dict[Parts, tuple[int | None, int | None, int | None]] = {}

    # -- bookkeeping --------------------------------------------------------------------------------

    def mark(self, real: Parts) -> None:
        if self.policy is not WhiteoutPolicy.APPLY:
            return
        while real:
            key = "/".join(real)
            if key in self.written:
                return
            self.written.add(key)
            real = real[:-1]

    def touch(self, dir_fd: int, real: Parts) -> None:
        """Remember the times of a lower directory about to change, unless this layer lists it."""
        if self.policy is WhiteoutPolicy.APPLY and real not in self.dir_meta:
            st = os.stat(dir_fd)
            self.dir_meta[real] = (None, st.st_atime_ns, st.st_mtime_ns)

    def on_mkdir(self, real: Parts) -> None:
        """A parent directory the layer did not list: 0755 like containerd, owned by whoever we are."""
        self.mark(real)
        self.dir_meta.setdefault(real, (0o755, None, None))

    # -- the loop -----------------------------------------------------------------------------------

    def run(self) -> None:
        if self.src.at_eof():
            return  # an empty stream is an empty layer
        try:
            tf = tarfile.TarFile(
                fileobj=cast(IO[bytes], self.src),
                mode="r",
                encoding="utf-8",
                errors="surrogateescape",
                tarinfo=FastTarInfo,
            )
        except tarfile.ReadError as e:
            raise ArchiveError(f"not a tar archive: {e}") from e
        last = "(start of archive)"
        tf_any: Any = tf
        member: tarfile.TarInfo | None = tf_any.firstmember
        tf_any.firstmember = None
        cast(list[tarfile.TarInfo], tf_any.members).clear()  # tarfile keeps members; we need none
        while True:
            if member is None:
                break
            self.entries += 1
            if self.entries > self.limits.max_entries:
                raise LimitExceededError(
                    f"layer has more than {self.limits.max_entries} entries (at entry {member.name!r})"
                )
            last = member.name
            try:
                self.apply(member)
            except GeeDockerError:
                raise
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    raise DiskFullError(f"no space left on device writing entry {member.name!r}") from e
                raise ArchiveError(f"entry {member.name!r}: {e.strerror or e}") from e
            finally:
                self.root.release()
            try:
                member = self.next_member(tf)
            except (tarfile.ReadError, tarfile.HeaderError) as e:
                raise ArchiveError(f"malformed tar after entry {last!r}: {e}") from e
            except UnicodeDecodeError as e:
                raise ArchiveError(f"malformed tar header after entry {last!r}: {e}") from e
        self.finish_dirs()
        self.check_end(last)

    def next_member(self, tf: tarfile.TarFile) -> tarfile.TarInfo | None:
        """``TarFile.next`` without its per-member overhead for plain headers.

        A header with no extended records (PAX, GNU long names, sparse maps, global PAX headers in
        force) is decoded and positioned here exactly as tarfile would; anything else goes through
        tarfile's own ``_proc_member``. ``None`` at the end of the archive (``check_end`` then looks
        at the block that ended it).
        """
        tfa: Any = tf
        src = self.src
        if src.tell() != tfa.offset:
            src.seek(tfa.offset)
        block = src.read(BLOCK)
        try:
            info = FastTarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError:
            return None  # end marker, end of stream, truncated or invalid: check_end tells which
        info.offset = tfa.offset
        if info.type in _PLAIN_TYPES and not tfa.pax_headers:
            info.offset_data = tfa.offset + BLOCK
            tfa.offset = info.offset_data + (-(-info.size // BLOCK) * BLOCK if info.type in _REGULAR else 0)
            return info
        return cast(tarfile.TarInfo, cast(Any, info)._proc_member(tf))

    def check_end(self, last: str) -> None:
        block = self.src.last_block
        if len(block) == BLOCK and block.count(0) == BLOCK:
            self.src.drain_zeros()
            return
        if not block and self.src.at_eof():
            return  # ended at a header boundary without an end-of-archive marker: accepted
        if len(block) < BLOCK:
            raise ArchiveError(f"layer stream truncated in the header after entry {last!r}")
        raise ArchiveError(f"invalid tar header after entry {last!r} (at byte {self.src.tell() - BLOCK})")

    # -- one entry ----------------------------------------------------------------------------------

    def apply(self, m: tarfile.TarInfo) -> None:
        entry = m.name
        if self.extract.owner is not None:
            m.uid, m.gid = self.extract.owner
        parts = clean_parts(entry, entry)
        plain = self.policy is WhiteoutPolicy.NONE
        if not plain and _AUFS_META in entry and any(p.startswith(_AUFS_META) for p in parts[:-1]):
            log.debug("ignoring AUFS metadata entry %s", entry)
            return
        if not plain and parts and parts[-1].startswith(WHITEOUT_PREFIX):
            self.whiteout(m, parts)
            return
        if not parts:
            if not m.isdir():
                raise UnsafeEntryError(f"entry {entry!r}: only a directory may name the root")
            self.directory(m, self.root.fd, ".", ())
            return
        found = self.root.walk(parts[:-1], True, entry)
        assert found is not None
        pfd, preal = found
        self.touch(pfd, preal)
        name = parts[-1]
        real = (*preal, name)
        t = m.type
        if t in _REGULAR:
            self.regular(m, pfd, name, real)
        elif t == tarfile.DIRTYPE:
            self.directory(m, pfd, name, real)
        elif t == tarfile.SYMTYPE:
            self.symlink(m, pfd, name, real)
        elif t == tarfile.LNKTYPE:
            self.hardlink(m, pfd, name, real)
        elif t in (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE):
            self.special(m, pfd, name, real)
        else:
            raise ArchiveError(f"entry {entry!r}: unsupported tar entry type {t!r}")
        self.mark(real)

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
                for key, data in _xattrs(m):
                    self.setxattr(m, fd, key, data)
            if mode & self.chmod_bits:  # special bits (chown clears them) or bits the umask took
                os.fchmod(fd, mode)
            mtime = _ns(m.mtime)
            os.utime(fd, ns=(self.atime(m, mtime) if m.pax_headers else mtime, mtime))
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

    def atime(self, m: tarfile.TarInfo, mtime: int) -> int:
        a = m.pax_headers.get("atime")
        if a is None:
            return mtime
        try:
            return _ns(float(a))
        except ValueError:
            return mtime

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
        for key, data in _xattrs(m):
            self.setxattr(m, (pfd, name), key, data)
        mtime = _ns(m.mtime)
        self.dir_meta[real] = (m.mode & 0o7777, self.atime(m, mtime), mtime)

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
        for key, data in _xattrs(m):
            self.setxattr(m, (pfd, name), key, data)
        mtime = _ns(m.mtime)
        os.utime(name, ns=(self.atime(m, mtime), mtime), dir_fd=pfd, follow_symlinks=False)

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
        for key, data in _xattrs(m):
            self.setxattr(m, (pfd, name), key, data)
        os.chmod(name, mode, dir_fd=pfd)
        mtime = _ns(m.mtime)
        os.utime(name, ns=(self.atime(m, mtime), mtime), dir_fd=pfd, follow_symlinks=False)

    def mknod(self, m: tarfile.TarInfo, pfd: int, name: str) -> None:
        if m.type == tarfile.FIFOTYPE:
            os.mkfifo(name, 0o600, dir_fd=pfd)
        else:
            kind = stat.S_IFCHR if m.type == tarfile.CHRTYPE else stat.S_IFBLK
            os.mknod(name, kind | 0o600, os.makedev(m.devmajor, m.devminor), dir_fd=pfd)

    def setxattr(self, m: tarfile.TarInfo, target: int | tuple[int, str], key: str, value: bytes) -> None:
        """Set an xattr on an open file, or on (dir fd, name) without following a final symlink."""
        if key.startswith(_FORBIDDEN_XATTR_PREFIXES):
            log.warning("entry %s: ignoring xattr %s (reserved for overlayfs)", m.name, key)
            return
        try:
            if isinstance(target, int):
                os.setxattr(target, key, value)
            else:
                set_xattr_at(target[0], target[1], key, value)
        except OSError as e:
            if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.EACCES):
                # the filesystem lacks xattrs, or we lack the privilege (a user namespace, not root)
                log.debug("entry %s: xattr %s not set: %s", m.name, key, e.strerror)
                return
            raise ArchiveError(f"entry {m.name!r}: setting xattr {key!r}: {e.strerror}") from e

    # -- whiteouts ----------------------------------------------------------------------------------

    def whiteout(self, m: tarfile.TarInfo, parts: Parts) -> None:
        base = parts[-1]
        if base == OPAQUE_MARKER:
            if self.policy is WhiteoutPolicy.OVERLAY:
                self.overlay_opaque(m, parts[:-1])
            else:
                self.apply_opaque(m, parts[:-1])
            return
        if base.startswith(_AUFS_META):
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

    # -- the end --------------------------------------------------------------------------------------

    def finish_dirs(self) -> None:
        """Set directory modes and times, deepest first (children changed their parents' mtimes)."""
        for real in sorted(self.dir_meta, key=len, reverse=True):
            mode, atime, mtime = self.dir_meta[real]
            if real:
                found = self.root.walk(real[:-1], False, "/".join(real))
                if found is None:
                    continue
                pfd, name = found[0], real[-1]
            else:
                pfd, name = self.root.fd, "."
            try:
                st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                continue
            if mode is not None:
                os.chmod(name, mode, dir_fd=pfd)
            if mtime is not None and atime is not None:
                os.utime(name, ns=(atime, mtime), dir_fd=pfd, follow_symlinks=False)
            self.root.release()


def apply_layer(stream: BinaryIO, dest: Path, policy: WhiteoutPolicy, limits: Limits = DEFAULT_LIMITS,
                extract: Extract = AS_ARCHIVED) -> ApplyResult:  # fmt: skip
    """Apply the layer in ``stream`` (gzip, zstd or plain tar) onto ``dest``; see the module doc."""
    try:
        root = Root(dest)
    except OSError as e:
        raise ArchiveError(f"cannot open the destination directory {dest}: {e.strerror or e}") from e
    try:
        _, reader = open_decompressed(stream)
    except BaseException:
        root.close()
        raise
    src = TarSource(reader, limits.max_bytes)
    try:
        with root:
            applier = _Applier(root, policy, limits, src, extract)
            root.on_mkdir = applier.on_mkdir
            try:
                applier.run()
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    raise DiskFullError(f"no space left on device unpacking into {dest}") from e
                raise ArchiveError(f"unpacking into {dest}: {e.strerror or e}") from e
        return ApplyResult(diff_id=src.digest(), size=src.count, entries=applier.entries)
    finally:
        src.close()


def flatten(blobs: Sequence[Path | BinaryIO], dest: Path, limits: Limits = DEFAULT_LIMITS) -> list[ApplyResult]:
    """Apply ``blobs`` (bottom layer first) onto ``dest`` with ``APPLY`` whiteouts: a flat rootfs."""
    dest.mkdir(parents=True, exist_ok=True)
    results: list[ApplyResult] = []
    for blob in blobs:
        if isinstance(blob, Path):
            with open(blob, "rb") as f:
                results.append(apply_layer(f, dest, WhiteoutPolicy.APPLY, limits))
        else:
            results.append(apply_layer(blob, dest, WhiteoutPolicy.APPLY, limits))
    return results
