"""Directory trees -> tar streams: the reverse of ``apply``.

``TarWriter`` adds filesystem objects (found with ``lstat``, never followed) to a PAX tar stream with
what a layer must keep: numeric owners, modes (setuid/setgid/sticky too), mtimes, xattrs as
``SCHILY.xattr.*`` (binary values too, through PAX's ``hdrcharset=BINARY``), hard links (the second
name of an inode becomes a link entry to the first), symlinks, devices and FIFOs, and OCI whiteouts.
overlayfs' own ``trusted.overlay.*`` xattrs never go into a tar: they describe a mount, not a file.

``layer_blob`` streams such a tar through isal's gzip (the library push and import use) into the blob
store, hashing the plain and the compressed bytes as they go: no temp copy of the tar is made.

Written here rather than with ``tarfile.add``: that follows no whiteout rules, names owners by the host's
user database and reads each file's xattrs through no API at all.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from geedocker.archive.whiteouts import OPAQUE_MARKER, WHITEOUT_PREFIX  # one home for the OCI names
from geedocker.digest import Digest
from geedocker.errors import ArchiveError

_SKIP_XATTRS = ("trusted.overlay.", "user.overlay.")


def is_whiteout(st: os.stat_result) -> bool:
    """An overlayfs whiteout: a character device 0:0."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: Path | str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def file_xattrs(path: Path | str) -> dict[str, bytes]:
    """The xattrs a layer keeps (overlayfs' own left out); {} where the filesystem has none."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    out = {}
    for n in sorted(names):
        if n.startswith(_SKIP_XATTRS):
            continue
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False)
        except OSError:
            continue
    return out


class TarWriter:
    """Adds entries to an open ``tarfile`` (PAX format), one inode's first name per hard-link group."""

    def __init__(self, tf: tarfile.TarFile) -> None:
        self.tf = tf
        self.links: dict[tuple[int, int], str] = {}

    def _info(self, name: str, st: os.stat_result) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.uname = ti.gname = ""
        ti.mtime = int(st.st_mtime)
        return ti

    def add(self, name: str, path: Path | str, st: os.stat_result | None = None) -> None:
        """Add the object at host ``path`` under tar ``name`` (relative, no leading ``/``)."""
        st = st or os.lstat(path)
        ti = self._info(name, st)
        xattrs = file_xattrs(path)
        if xattrs:
            ti.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape") for k, v in xattrs.items()}
        mode = st.st_mode
        if stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1:
                first = self.links.get(key)
                if first is not None:
                    ti.type, ti.linkname, ti.size = tarfile.LNKTYPE, first, 0
                    self.tf.addfile(ti)
                    return
                self.links[key] = name
            ti.type, ti.size = tarfile.REGTYPE, st.st_size
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError as e:
                raise ArchiveError(f"reading {path}: {e.strerror}") from e
            with os.fdopen(fd, "rb") as f:
                self.tf.addfile(ti, f)
        elif stat.S_ISDIR(mode):
            ti.type = tarfile.DIRTYPE
            self.tf.addfile(ti)
        elif stat.S_ISLNK(mode):
            ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(path)
            self.tf.addfile(ti)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            ti.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.tf.addfile(ti)
        elif stat.S_ISFIFO(mode):
            ti.type = tarfile.FIFOTYPE
            self.tf.addfile(ti)
        # sockets are left out, as docker and tar leave them out

    def whiteout(self, name: str, st: os.stat_result | None = None) -> None:
        """An OCI whiteout for ``name`` (``dir/.wh.base``)."""
        d, _, base = name.rpartition("/")
        ti = tarfile.TarInfo((d + "/" if d else "") + WHITEOUT_PREFIX + base)
        ti.mode = 0o644 if st is None else stat.S_IMODE(st.st_mode)
        if st is not None:
            ti.mtime = int(st.st_mtime)
        ti.uname = ti.gname = ""
        self.tf.addfile(ti)

    def opaque(self, dirname: str) -> None:
        ti = tarfile.TarInfo((dirname + "/" if dirname else "") + OPAQUE_MARKER)
        ti.mode = 0o644
        ti.uname = ti.gname = ""
        self.tf.addfile(ti)


class _Hashing:
    """A write-only file that hashes what goes through it on its way to ``out``."""

    def __init__(self, out: BinaryIO) -> None:
        import hashlib  # here: OpenSSL takes ms to load, and only writers need it

        self.out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


@contextmanager
def tar_stream(out: BinaryIO) -> Iterator[TarWriter]:
    """A ``TarWriter`` over a PAX stream written to ``out`` (closed, with its end marker, on exit)."""
    tf = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)
    try:
        yield TarWriter(tf)
    finally:
        tf.close()


class LayerBlob:
    """What ``layer_blob`` wrote: the compressed blob's digest and size, the tar's digest (diff_id) and size."""

    def __init__(self, digest: Digest, size: int, diff_id: Digest, tar_size: int) -> None:
        self.digest, self.size, self.diff_id, self.tar_size = digest, size, diff_id, tar_size


def layer_blob(sink: AbstractContextManager[Any], produce: Callable[[TarWriter], None]) -> LayerBlob:
    """Stream the tar that ``produce`` writes through gzip into ``sink`` (a ``BlobStore.writer()``: a file
    with ``digest`` and ``size``, committed when its block ends without error)."""
    from isal import igzip

    with sink as blob:
        with igzip.IGzipFile(fileobj=blob, mode="wb", compresslevel=1, mtime=0) as gz:  # type: ignore[no-untyped-call]
            plain = _Hashing(gz)  # type: ignore[arg-type]
            with tar_stream(plain) as tw:  # type: ignore[arg-type]
                produce(tw)
    return LayerBlob(blob.digest, blob.size, Digest("sha256", plain.hash.hexdigest()), plain.size)
