"""The fast header decoder agrees with tarfile's own on every header it meets."""

from __future__ import annotations

import io
import tarfile

import pytest

from geedocker.archive.header import FastTarInfo
from tests.support.layers import Entry, directory, file, hardlink, layer_tar, symlink

FIELDS = ("name", "mode", "uid", "gid", "size", "mtime", "chksum", "type", "linkname", "devmajor", "devminor")


def headers(tar: bytes) -> list[bytes]:
    """Every 512-byte block of ``tar`` (headers, data and padding alike)."""
    return [tar[i : i + 512] for i in range(0, len(tar), 512)]


def decode(cls: type[tarfile.TarInfo], block: bytes) -> tuple[object, ...] | str:
    try:
        ti = cls.frombuf(block, "utf-8", "surrogateescape")
    except tarfile.HeaderError as e:
        return type(e).__name__
    return tuple(getattr(ti, f) for f in FIELDS)


ENTRIES = [
    directory("usr/"), file("usr/f", "data", mode=0o4755, uid=1000, gid=2000, mtime=1234567890),
    symlink("usr/l", "f"), hardlink("usr/h", "usr/f"),
    Entry("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
    Entry("dev/sda", tarfile.BLKTYPE, devmajor=259, devminor=65535),
    Entry("fifo", tarfile.FIFOTYPE),
    file("a" * 99, "x"), file("p" * 120 + "/" + "n" * 90, "ustar prefix"),
    file("big-ids", "x", uid=2**21 + 5, gid=2**30),  # beyond 7 octal digits: base-256 in GNU, PAX otherwise
    file("ünïcødé", "x"), file("x" * 300, "long"),
]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_same_as_tarfile_for_every_block(fmt: int) -> None:
    entries = [e for e in ENTRIES if fmt != tarfile.USTAR_FORMAT or (len(e.name) < 250 and e.uid < 2**21)]
    blocks = headers(layer_tar(entries, fmt=fmt))
    blocks += [b"\0" * 512, b"\1" * 512, b"", b"short"]
    for block in blocks:
        assert decode(FastTarInfo, block) == decode(tarfile.TarInfo, block)


def test_base256_and_v7_directory() -> None:
    ti = tarfile.TarInfo("v7dir/")
    ti.type = tarfile.AREGTYPE
    ti.uid = 2**40
    block = ti.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")[:512]
    assert decode(FastTarInfo, block) == decode(tarfile.TarInfo, block)
    assert FastTarInfo.frombuf(block, "utf-8", "surrogateescape").type == tarfile.DIRTYPE


def test_members_read_through_a_tarfile() -> None:
    tar = layer_tar(ENTRIES, fmt=tarfile.PAX_FORMAT)
    fast = tarfile.open(fileobj=io.BytesIO(tar), tarinfo=FastTarInfo)
    slow = tarfile.open(fileobj=io.BytesIO(tar))
    assert [tuple(getattr(m, f) for f in FIELDS) for m in fast] == [tuple(getattr(m, f) for f in FIELDS) for m in slow]


@pytest.mark.parametrize("fields", [
    {100: b"\0" * 8, 108: b"12 34\0\0\0"},   # an empty field next to one holding two numbers
    {108: b"\0" * 8},                          # an empty uid (tarfile reads 0)
    {124: b"   17   \0\0\0\0"},               # blanks around a size
    {136: b"9999\0\0\0\0\0\0\0\0"},           # not octal
    {100: b"644\0xyz\0"},                      # junk after the NUL
])
def test_odd_number_fields(fields: dict[int, bytes]) -> None:
    block = bytearray(layer_tar([file("f", "x")])[:512])
    for pos, raw in fields.items():
        block[pos : pos + len(raw)] = raw
    block[148:156] = b" " * 8
    block[148:155] = b"%06o\0" % sum(block)
    assert decode(FastTarInfo, bytes(block)) == decode(tarfile.TarInfo, bytes(block))
