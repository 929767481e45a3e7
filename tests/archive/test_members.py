"""Reading a layer's members (``archive.members``): long names, and how the stream may end."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

import pytest

from geedocker.errors import ArchiveError
from tests.support.apply import apply
from tests.support.layers import (
    file,
    hardlink,
    layer_tar,
    symlink,
)


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_long_and_utf8_names(tmp_path: Path, fmt: int) -> None:
    deep = "/".join(["d" * 100] * 5)
    name = f"{deep}/{'f' * 200}"
    apply(tmp_path, layer_tar([
        file(name, "deep"),
        file("héllo wörld ✓.txt", "utf8"),
        symlink("long-link", "t" * 300),
        hardlink("h", name),
    ], fmt=fmt))
    assert (tmp_path / name).read_text() == "deep"
    assert (tmp_path / "héllo wörld ✓.txt").read_text() == "utf8"
    assert os.readlink(tmp_path / "long-link") == "t" * 300
    assert os.lstat(tmp_path / "h").st_ino == os.lstat(tmp_path / name).st_ino


def test_empty_stream_is_an_empty_layer(tmp_path: Path) -> None:
    result = apply(tmp_path, b"")
    assert (result.size, result.entries) == (0, 0)
    assert result.diff_id.hex == hashlib.sha256(b"").hexdigest()
    result = apply(tmp_path, b"\0" * 1024)
    assert (result.size, result.entries) == (1024, 0)


def test_extra_zero_padding_is_hashed(tmp_path: Path) -> None:
    tar = layer_tar([file("f", "x")]) + b"\0" * 4096
    result = apply(tmp_path, tar)
    assert result.diff_id.hex == hashlib.sha256(tar).hexdigest()


def test_no_end_of_archive_marker_is_accepted(tmp_path: Path) -> None:
    tar = layer_tar([file("f", "x"), file("g", "y")])
    body = tar[: 4 * 512]  # two headers, two data blocks, no zero blocks
    result = apply(tmp_path, body)
    assert result.entries == 2
    assert (tmp_path / "g").read_text() == "y"


def test_trailing_garbage_is_refused(tmp_path: Path) -> None:
    tar = layer_tar([file("f", "x")])
    with pytest.raises(ArchiveError, match="non-zero data after the end-of-archive"):
        apply(tmp_path, tar + b"garbage")


def test_truncated_in_data_and_in_header(tmp_path: Path) -> None:
    tar = layer_tar([file("f", os.urandom(4000)), file("g", "y")])
    with pytest.raises(ArchiveError, match="'f'.*unexpected end"):
        apply(tmp_path / "1", tar[:1500])
    with pytest.raises(ArchiveError, match="truncated in the header after entry 'f'"):
        apply(tmp_path / "2", tar[: 512 + 4096 + 100])


def test_garbage_header_is_refused(tmp_path: Path) -> None:
    tar = layer_tar([file("f", "x")])
    bad = tar[:1024] + b"\x01" * 512 + b"\0" * 1024
    with pytest.raises(ArchiveError, match="invalid tar header after entry 'f'"):
        apply(tmp_path, bad)
