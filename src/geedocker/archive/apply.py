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

Whiteouts, per the OCI image spec, apply to lower layers only (``whiteouts.py``). A lower directory
that this layer changes without listing it keeps its times (as umoci does). Without root: ownership
is not changed, device nodes are skipped (with a warning), privileged xattrs are skipped, and
``OVERLAY`` whiteouts fail (they are device nodes and a ``trusted.*`` xattr). The end of the stream is
checked as ``members.py`` says: trailing garbage and truncation are refused.

This module holds the loop over the members and the choice of a handler for each; the parts it joins:
``members`` (reading the tar), ``entries`` (writing each kind), ``whiteouts``, ``metadata`` (times,
xattrs, directory modes at the end), ``state`` (what this layer did so far), ``options`` (the caller's
choices).
"""

from __future__ import annotations

import errno
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from geedocker.archive.compression import open_decompressed
from geedocker.archive.entries import EntryWriter
from geedocker.archive.members import REGULAR_TYPES, check_end, next_member, open_tar
from geedocker.archive.metadata import finish_dirs
from geedocker.archive.options import AS_ARCHIVED, DEFAULT_LIMITS, Extract, Limits, WhiteoutPolicy
from geedocker.archive.root import Root, clean_parts
from geedocker.archive.source import TarSource
from geedocker.archive.whiteouts import AUFS_META, WHITEOUT_PREFIX, WhiteoutWriter
from geedocker.digest import Digest
from geedocker.errors import ArchiveError, DiskFullError, GeeDockerError, LimitExceededError, UnsafeEntryError
from geedocker.logger import get_logger
from geedocker.values import value

log = get_logger(__name__)


@value
class ApplyResult:
    """``diff_id``: sha256 of the whole uncompressed stream; ``size``: its length; ``entries``: tar members."""

    diff_id: Digest
    size: int
    entries: int


class _Applier(EntryWriter, WhiteoutWriter):
    """One layer's apply: the loop over its members, each handed to its entry writer or whiteout handler."""

    # -- the loop -----------------------------------------------------------------------------------

    def run(self) -> None:
        if self.src.at_eof():
            return  # an empty stream is an empty layer
        tf, member = open_tar(self.src)
        last = "(start of archive)"
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
                member = next_member(self.src, tf)
            except (tarfile.ReadError, tarfile.HeaderError) as e:
                raise ArchiveError(f"malformed tar after entry {last!r}: {e}") from e
            except UnicodeDecodeError as e:
                raise ArchiveError(f"malformed tar header after entry {last!r}: {e}") from e
        finish_dirs(self.root, self.dir_meta)
        check_end(self.src, last)

    # -- one entry ----------------------------------------------------------------------------------

    def apply(self, m: tarfile.TarInfo) -> None:
        entry = m.name
        if self.extract.owner is not None:
            m.uid, m.gid = self.extract.owner
        parts = clean_parts(entry, entry)
        plain = self.policy is WhiteoutPolicy.NONE
        if not plain and AUFS_META in entry and any(p.startswith(AUFS_META) for p in parts[:-1]):
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
        if t in REGULAR_TYPES:
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
