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
import logging
import zlib
from typing import Any, BinaryIO, Protocol, cast

from geedocker.errors import ArchiveError

log = logging.getLogger(__name__)

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
            raise ArchiveError(f"corrupt {self._what} stream: {e}") from None


def _gzip_reader(stream: Readable) -> Readable:
    try:
        from isal import igzip

        gz: Any = igzip.IGzipFile
        return cast(Readable, gz(fileobj=stream, mode="rb"))
    except ImportError:  # pragma: no cover - isal is a dependency; the fallback keeps us working without it
        log.debug("isal not available; using the stdlib gzip decoder")
        return gzip.GzipFile(fileobj=cast(BinaryIO, stream), mode="rb")


def _zstd_reader(stream: Readable) -> Readable:
    import zstandard

    dctx = zstandard.ZstdDecompressor()
    return cast(Readable, dctx.stream_reader(cast(BinaryIO, stream), read_size=READ_SIZE, read_across_frames=True))


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
