"""Compression detection from magic bytes and streaming decoders (gzip multi-member, zstd multi-frame)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os

import pytest
import zstandard

from geedocker.archive import Compression, detect, open_decompressed
from geedocker.errors import ArchiveError
from tests.support.layers import file, layer_tar


def _read_all(stream: io.BytesIO) -> tuple[Compression, bytes]:
    kind, reader = open_decompressed(stream)
    out = []
    while chunk := reader.read(1 << 16):
        out.append(chunk)
    return kind, b"".join(out)


class _Trickle(io.RawIOBase):
    """A non-seekable stream that hands out at most 3 bytes per read (like a slow socket)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = 3 if n < 0 else min(n, 3)
        out, self._data = self._data[:n], self._data[n:]
        return out


def test_detect_by_magic_only() -> None:
    assert detect(b"\x1f\x8b\x08\x00") is Compression.GZIP
    assert detect(b"\x28\xb5\x2f\xfd") is Compression.ZSTD
    assert detect(b"usta") is Compression.NONE
    assert detect(b"") is Compression.NONE
    assert detect(b"\x1f") is Compression.NONE


def test_plain_tar_passes_through() -> None:
    tar = layer_tar([file("a", "hello")])
    kind, data = _read_all(io.BytesIO(tar))
    assert kind is Compression.NONE
    assert data == tar


def test_gzip_multi_member() -> None:
    payload = os.urandom(300_000) + b"x" * 2_000_000
    blob = gzip.compress(payload[:1000]) + gzip.compress(payload[1000:200_000]) + gzip.compress(payload[200_000:])
    kind, data = _read_all(io.BytesIO(blob))
    assert kind is Compression.GZIP
    assert hashlib.sha256(data).digest() == hashlib.sha256(payload).digest()


def test_zstd_multi_frame() -> None:
    payload = os.urandom(100_000) + b"y" * 3_000_000
    cctx = zstandard.ZstdCompressor(level=1)
    blob = cctx.compress(payload[:50_000]) + cctx.compress(payload[50_000:]) + cctx.compress(b"")
    kind, data = _read_all(io.BytesIO(blob))
    assert kind is Compression.ZSTD
    assert data == payload


def test_tiny_reads_from_a_non_seekable_stream() -> None:
    payload = b"abc" * 10_000
    for blob, kind in ((gzip.compress(payload), Compression.GZIP),
                       (zstandard.ZstdCompressor().compress(payload), Compression.ZSTD),
                       (payload, Compression.NONE)):
        got_kind, reader = open_decompressed(_Trickle(blob))  # type: ignore[arg-type]
        out = b""
        while chunk := reader.read(1 << 20):
            out += chunk
        assert got_kind is kind
        assert out == payload


@pytest.mark.parametrize("blob", [
    gzip.compress(b"a" * 100_000)[:-20],          # truncated
    b"\x1f\x8b" + b"\x00" * 50,                    # a gzip magic and nonsense
    zstandard.ZstdCompressor().compress(b"b" * 100_000)[:-10],
    b"\x28\xb5\x2f\xfd" + b"\xff" * 40,
])
def test_corrupt_streams_raise_archive_error(blob: bytes) -> None:
    with pytest.raises(ArchiveError, match="corrupt (gzip|zstd) stream"):
        _read_all(io.BytesIO(blob))


def test_zstd_frames_with_checksums_and_skippable_frames() -> None:
    payload = os.urandom(70_000) + b"z" * 500_000
    with_sum = zstandard.ZstdCompressor(level=3, write_checksum=True, write_content_size=False)
    skippable = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"hello"
    blob = with_sum.compress(payload[:1234]) + skippable + zstandard.ZstdCompressor().compress(payload[1234:])
    kind, data = _read_all(io.BytesIO(blob))
    assert kind is Compression.ZSTD
    assert data == payload
    # a cut anywhere inside the last frame is refused, at a frame boundary it is a shorter stream
    for cut in (1, 7, len(blob) // 2, len(blob) - 6):
        with pytest.raises(ArchiveError, match="zstd"):
            _read_all(io.BytesIO(blob[: len(blob) - cut]))


def test_gzip_followed_by_zero_padding() -> None:
    payload = b"q" * 100_000
    kind, data = _read_all(io.BytesIO(gzip.compress(payload) + b"\0" * 1000))
    assert kind is Compression.GZIP
    assert data == payload


def test_stdlib_gzip_fallback_without_isal(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "isal", None)  # "import isal" now raises ImportError
    monkeypatch.setitem(sys.modules, "isal.igzip", None)
    payload = os.urandom(10_000) * 20
    blob = gzip.compress(payload[:70_000]) + gzip.compress(payload[70_000:])
    kind, reader = open_decompressed(io.BytesIO(blob))
    assert type(reader._inner).__module__ == "gzip"  # type: ignore[attr-defined]
    out = b""
    while chunk := reader.read(1 << 16):
        out += chunk
    assert kind is Compression.GZIP
    assert out == payload


def test_uncompressed_digest() -> None:
    from geedocker.archive import uncompressed_digest
    from geedocker.errors import LimitExceededError

    tar = layer_tar([file("a", os.urandom(3000))])
    for blob in (tar, gzip.compress(tar), zstandard.ZstdCompressor().compress(tar)):
        digest, size = uncompressed_digest(io.BytesIO(blob))
        assert (digest.hex, size) == (hashlib.sha256(tar).hexdigest(), len(tar))
    with pytest.raises(LimitExceededError):
        uncompressed_digest(io.BytesIO(gzip.compress(b"\0" * 100_000)), max_bytes=50_000)
