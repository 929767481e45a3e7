"""A faster tar header decoder for ``tarfile``.

``tarfile.TarInfo.frombuf`` spends most of a small-file layer's time in per-field helpers. This
subclass decodes the common case (ustar/GNU/PAX headers with octal numbers and an unsigned checksum)
with one ``struct`` unpack and falls back to ``tarfile``'s own decoder for everything else (base-256
numbers, signed checksums, old GNU sparse headers, malformed or end-of-archive blocks), which then
raises or decodes as usual. PAX and GNU long-name handling stay tarfile's, but the size of an extended
header (PAX records, a GNU long name or link) is checked before tarfile reads it into memory: a layer
that claims a multi-GiB header is refused at once (``MAX_EXTENDED_HEADER``, Go's archive/tar's limit).
"""

from __future__ import annotations

import struct
import tarfile
from typing import Any, Self

_HEADER = struct.Struct("100s8s8s8s12s12s8sc100s8x32x32x8s8s155s12x")
_DEVICES = (tarfile.CHRTYPE, tarfile.BLKTYPE)
_OCTAL = (8, 8, 8, 8, 8)
_EXTENDED = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
             tarfile.GNUTYPE_LONGLINK)
_GNU_LONG = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
MAX_EXTENDED_HEADER = 1 << 20  # bytes; real ones hold a path or a few xattrs


def _nts(field: bytes, encoding: str, errors: str) -> str:
    p = field.find(b"\0")
    return (field if p < 0 else field[:p]).decode(encoding, errors)


def _oct(field: bytes) -> int:
    p = field.find(b"\0")
    digits = (field if p < 0 else field[:p]).strip()
    return int(digits, 8) if digits else 0  # ValueError for base-256 or junk: the caller falls back


class FastTarInfo(tarfile.TarInfo):
    def _proc_member(self, tarfile: tarfile.TarFile) -> Any:
        if self.type in _EXTENDED and self.size > MAX_EXTENDED_HEADER:
            from geedocker.errors import LimitExceededError

            kind = "PAX extended header" if self.type not in _GNU_LONG else "GNU long name or link record"
            raise LimitExceededError(f"tar {kind} of {self.size} bytes at byte {self.offset} is larger than the "
                               f"{MAX_EXTENDED_HEADER}-byte limit")
        return super()._proc_member(tarfile)  # type: ignore[misc]

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        if len(buf) != tarfile.BLOCKSIZE:
            return super().frombuf(buf, encoding, errors)
        try:
            (name, mode, uid, gid, size, mtime, chksum, typ, linkname, devmajor, devminor, prefix) = _HEADER.unpack(buf)
            checksum = _oct(chksum)
            if typ == tarfile.GNUTYPE_SPARSE or checksum != 256 + sum(buf[:148]) + sum(buf[156:]):
                return super().frombuf(buf, encoding, errors)
            obj = cls()
            try:  # int() strips blanks itself; an empty field (or junk) takes the careful path
                fields = [f.partition(b"\0")[0] for f in (mode, uid, gid, size, mtime)]
                obj.mode, obj.uid, obj.gid, obj.size, obj.mtime = map(int, fields, _OCTAL)
            except ValueError:
                obj.mode, obj.uid, obj.gid = _oct(mode), _oct(uid), _oct(gid)
                obj.size, obj.mtime = _oct(size), _oct(mtime)
            if typ in _DEVICES:
                obj.devmajor = _oct(devmajor)
                obj.devminor = _oct(devminor)
        except ValueError:
            return super().frombuf(buf, encoding, errors)
        obj.chksum = checksum
        obj.type = typ
        obj.name = _nts(name, encoding, errors)
        obj.linkname = _nts(linkname, encoding, errors) if linkname[0] else ""
        # uname and gname are not decoded: geedocker uses numeric ids only
        if typ == tarfile.AREGTYPE and obj.name.endswith("/"):
            obj.type = tarfile.DIRTYPE
        if obj.type == tarfile.DIRTYPE:
            obj.name = obj.name.rstrip("/")
        if prefix[0] and typ not in tarfile.GNU_TYPES:
            obj.name = _nts(prefix, encoding, errors) + "/" + obj.name
        return obj
