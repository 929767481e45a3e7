"""Reading a layer's tar members from a ``TarSource``: opening it, the next header, the end of the stream.

``tarfile`` only parses headers here, nothing is extracted by it. Plain headers (no extended records) are
decoded by ``FastTarInfo`` and positioned here exactly as tarfile would, without its per-member overhead;
anything else goes through tarfile's own ``_proc_member``.

The stream's end: a tar ends at a zero block; zero padding after it is read (and hashed); non-zero
bytes after it are refused (another reader might take them for more entries). A stream that ends
cleanly at a header boundary without the marker is accepted (as Go's archive/tar does); a stream cut
inside a header or inside file data is refused.
"""

from __future__ import annotations

import tarfile
from typing import IO, Any, cast

from geedocker.archive.header import FastTarInfo
from geedocker.archive.source import BLOCK, TarSource
from geedocker.errors import ArchiveError

REGULAR_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.GNUTYPE_SPARSE)
# headers that carry everything in themselves (no extended records follow)
_PLAIN_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE,
                tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)


def open_tar(src: TarSource) -> tuple[tarfile.TarFile, tarfile.TarInfo | None]:
    """A ``TarFile`` reading ``src`` that keeps no members, and its first member."""
    try:
        tf = tarfile.TarFile(
            fileobj=cast(IO[bytes], src),
            mode="r",
            encoding="utf-8",
            errors="surrogateescape",
            tarinfo=FastTarInfo,
        )
    except tarfile.ReadError as e:
        raise ArchiveError(f"not a tar archive: {e}") from e
    tf_any: Any = tf
    member: tarfile.TarInfo | None = tf_any.firstmember
    tf_any.firstmember = None
    cast(list[tarfile.TarInfo], tf_any.members).clear()  # tarfile keeps members; we need none
    return tf, member


def next_member(src: TarSource, tf: tarfile.TarFile) -> tarfile.TarInfo | None:
    """``TarFile.next`` without its per-member overhead for plain headers.

    A header with no extended records (PAX, GNU long names, sparse maps, global PAX headers in
    force) is decoded and positioned here exactly as tarfile would; anything else goes through
    tarfile's own ``_proc_member``. ``None`` at the end of the archive (``check_end`` then looks
    at the block that ended it).
    """
    tfa: Any = tf
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
        tfa.offset = info.offset_data + (-(-info.size // BLOCK) * BLOCK if info.type in REGULAR_TYPES else 0)
        return info
    return cast(tarfile.TarInfo, cast(Any, info)._proc_member(tf))


def check_end(src: TarSource, last: str) -> None:
    """Accept or refuse how the stream ended, after its last member ``last`` (see the module doc)."""
    block = src.last_block
    if len(block) == BLOCK and block.count(0) == BLOCK:
        src.drain_zeros()
        return
    if not block and src.at_eof():
        return  # ended at a header boundary without an end-of-archive marker: accepted
    if len(block) < BLOCK:
        raise ArchiveError(f"layer stream truncated in the header after entry {last!r}")
    raise ArchiveError(f"invalid tar header after entry {last!r} (at byte {src.tell() - BLOCK})")
