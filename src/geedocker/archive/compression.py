"""Compression of layer blobs: detected from the first bytes, never from a media type.

``open_decompressed(stream)`` peeks at the magic number and returns a reader of the decompressed
bytes: gzip (``1f 8b``, any number of members) through ``isal.igzip`` (stdlib ``gzip`` when isal is
missing), zstd (``28 b5 2f fd``, any number of frames) through ``zstandard``, anything else is read
as a plain tar. Memory stays bounded: every decoder streams.
"""

from __future__ import annotations

import enum
import gzip
import io
import zlib
from typing import Any, BinaryIO, Protocol, cast

from geedocker.digest import Digest
from geedocker.errors import ArchiveError, LimitExceededError
from geedocker.logger import get_logger

log = get_logger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_SIZE = 1 << 20


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class Compression(enum.Enum):
    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"


def detect(head: bytes) -> Compression:
    """The compression whose magic number ``head`` starts with (``NONE`` for anything else)."""
    if head.startswith(GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(ZSTD_MAGIC):
        return Compression.ZSTD
    return Compression.NONE


class _Prefixed(io.RawIOBase):
    """A stream that first replays ``prefix`` (bytes already peeked) and then reads ``raw``."""

    def __init__(self, prefix: bytes, raw: Readable) -> None:
        super().__init__()
        self._prefix = prefix
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(buf), len(self._prefix))
            buf[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._raw.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def read(self, n: int = -1, /) -> bytes:
        if self._prefix:
            if n < 0:
                out = self._prefix + self._raw.read()
                self._prefix = b""
                return out
            out, self._prefix = self._prefix[:n], self._prefix[n:]
            return out
        return self._raw.read(n)


def _decoder_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, EOFError, zlib.error, ValueError]
    try:
        from isal import isal_zlib

        errors.append(cast(type[BaseException], isal_zlib.error))
    except ImportError:  # pragma: no cover
        pass
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


_DECODER_ERRORS = _decoder_errors()


class _ErrorMapping:
    """Turns a decoder's exceptions into ``ArchiveError`` naming the compression."""

    def __init__(self, inner: Readable, what: str) -> None:
        self._inner = inner
        self._what = what

    def read(self, n: int = -1, /) -> bytes:
        try:
            return self._inner.read(n)
        except ArchiveError:
            raise
        except _DECODER_ERRORS as e:
            raise ArchiveError(f"corrupt {self._what} stream: {e}") from e


def _gzip_reader(stream: Readable) -> Readable:
    try:
        from isal import igzip

        gz: Any = igzip.IGzipFile
        return cast(Readable, gz(fileobj=stream, mode="rb"))
    except ImportError:  # pragma: no cover - isal is a dependency; the fallback keeps us working without it
        log.debug("isal not available; using the stdlib gzip decoder")
        return gzip.GzipFile(fileobj=cast(BinaryIO, stream), mode="rb")


class _ZstdFrames:
    """Passes compressed zstd bytes through while walking the frame and block headers.

    ``zstandard``'s stream reader treats input that ends inside a frame as a clean end; this walker
    knows where each frame ends (block headers carry their sizes) and refuses such an end.
    """

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._need = 4  # bytes wanted into _head for the current state
        self._head = b""
        self._skip = 0  # bytes to pass over (block contents, skippable frames)
        self._state = "magic"
        self._checksum = False
        self._done = False

    def read(self, n: int = -1, /) -> bytes:
        data = self._raw.read(READ_SIZE if n < 0 else n)
        if data:
            self._walk(data)
        elif not self._done:
            self._done = True
            if self._state != "magic" or self._head or self._skip:
                raise ArchiveError("corrupt zstd stream: truncated inside a frame")
        return data

    def _walk(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end:
            if self._skip:
                take = min(self._skip, end - pos)
                self._skip -= take
                pos += take
                continue
            take = min(self._need - len(self._head), end - pos)
            self._head += data[pos : pos + take]
            pos += take
            if len(self._head) == self._need:
                head, self._head = self._head, b""
                self._advance(head)

    def _advance(self, head: bytes) -> None:
        state = self._state
        if state == "magic":
            magic = int.from_bytes(head, "little")
            if head == ZSTD_MAGIC:
                self._state, self._need = "fhd", 1
            elif magic & 0xFFFFFFF0 == 0x184D2A50:
                self._state, self._need = "skippable", 4
            else:
                raise ArchiveError("corrupt zstd stream: bad frame magic")
        elif state == "skippable":
            self._skip = int.from_bytes(head, "little")
            self._state, self._need = "magic", 4
        elif state == "fhd":
            fhd = head[0]
            fcs_flag, single, self._checksum, did_flag = fhd >> 6, fhd >> 5 & 1, bool(fhd >> 2 & 1), fhd & 3
            size = (0 if single else 1) + (0, 1, 2, 4)[did_flag] + ((1 if single else 0), 2, 4, 8)[fcs_flag]
            self._state, self._need = "block", 3
            self._skip = size
        elif state == "block":
            bh = int.from_bytes(head, "little")
            last, btype, bsize = bh & 1, bh >> 1 & 3, bh >> 3
            if btype == 3:
                raise ArchiveError("corrupt zstd stream: reserved block type")
            self._skip = 1 if btype == 1 else bsize
            if last:
                self._state, self._need = "magic", 4
                self._skip += 4 if self._checksum else 0
        else:  # pragma: no cover
            raise AssertionError(state)


def _zstd_reader(stream: Readable) -> Readable:
    import zstandard

    dctx = zstandard.ZstdDecompressor()
    src = cast(BinaryIO, _ZstdFrames(stream))
    return cast(Readable, dctx.stream_reader(src, read_size=READ_SIZE, read_across_frames=True))


def _read_head(stream: Readable, n: int) -> bytes:
    head = b""
    while len(head) < n:
        chunk = stream.read(n - len(head))
        if not chunk:
            break
        head += chunk
    return head


def open_decompressed(stream: Readable | BinaryIO) -> tuple[Compression, Readable]:
    """Peek at ``stream``'s magic and return its compression and a reader of the decompressed bytes."""
    head = _read_head(stream, 4)
    kind = detect(head)
    src = _Prefixed(head, stream)
    if kind is Compression.GZIP:
        return kind, _ErrorMapping(_gzip_reader(src), "gzip")
    if kind is Compression.ZSTD:
        return kind, _ErrorMapping(_zstd_reader(src), "zstd")
    return kind, src


def uncompressed_digest(stream: Readable | BinaryIO, max_bytes: int = 64 << 30) -> tuple[Digest, int]:
    """The sha256 and length of ``stream``'s decompressed bytes (a layer's diff_id), without unpacking."""
    import hashlib

    _, reader = open_decompressed(stream)
    h = hashlib.sha256()
    n = 0
    while chunk := reader.read(READ_SIZE):
        h.update(chunk)
        n += len(chunk)
        if n > max_bytes:
            raise LimitExceededError(f"stream is larger than the limit of {max_bytes} bytes uncompressed")
    return Digest("sha256", h.hexdigest()), n
