"""A corpus of hostile layers: each is refused with an error naming the entry, or confined to dest.

Every case runs with a sentinel directory next to ``dest``; after the case, the sentinel and the
rest of the temp dir must be exactly as before: nothing is ever written outside ``dest``.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from geedocker.archive import Limits, WhiteoutPolicy, apply_layer
from geedocker.archive.options import DEFAULT_LIMITS
from geedocker.errors import ArchiveError, LimitExceededError, UnsafeEntryError
from tests.support.layers import (
    Entry,
    directory,
    file,
    gzip_bytes,
    hardlink,
    layer_tar,
    opaque,
    symlink,
    tree_snapshot,
    whiteout,
)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """tmp_path holding ``dest`` (empty) and ``sentinel`` (a file and a dir the layers aim at)."""
    (tmp_path / "dest").mkdir()
    (tmp_path / "sentinel/sub").mkdir(parents=True)
    (tmp_path / "sentinel/secret").write_text("do not touch")
    (tmp_path / "sentinel/sub/inner").write_text("nor this")
    return tmp_path


def outside(site: Path) -> dict[str, tuple[object, ...]]:
    snap = tree_snapshot(site)
    return {k: v for k, v in snap.items() if k != "dest" and not k.startswith("dest/")}


def pax_tar(name: str, linkname: str = "", type: bytes = tarfile.REGTYPE, data: bytes = b"") -> bytes:
    """A one-entry tar whose name (and link name) are carried in PAX records, as-is."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo("placeholder")
        ti.type = type
        ti.size = len(data)
        ti.pax_headers = {"path": name, **({"linkpath": linkname} if linkname else {})}
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def run_case(site: Path, layers: list[bytes], policy: WhiteoutPolicy = WhiteoutPolicy.APPLY,
             limits: Limits = DEFAULT_LIMITS) -> None:
    for layer in layers:
        apply_layer(io.BytesIO(layer), site / "dest", policy, limits)


S = "{S}"  # replaced by the sentinel's absolute path


def L(*entries: Entry) -> list[Entry]:  # noqa: N802 - reads like a constructor in the table below
    return list(entries)


# (id, layers, expected error or None when the layer is accepted but confined, the entry name in the message)
REFUSED: list[tuple[str, list[list[Entry] | bytes], type[Exception], str]] = [
    ("dotdot", [L(file("../escape", "x"))], UnsafeEntryError, "../escape"),
    ("dotdot-deep", [L(file("a/../../escape", "x"))], UnsafeEntryError, "a/../../escape"),
    ("dotdot-into-sentinel", [L(file("../sentinel/secret", "pwned"))], UnsafeEntryError, "../sentinel/secret"),
    ("hardlink-dotdot", [L(hardlink("h", "../sentinel/secret"))], UnsafeEntryError, "'h'"),
    ("hardlink-to-absolute-host-path", [L(hardlink("h", f"{S}/secret"))], ArchiveError, "'h'"),
    ("hardlink-through-symlinked-parent",
     [L(symlink("esc", S), hardlink("h", "esc/secret"))], ArchiveError, "'h'"),
    ("hardlink-to-symlink-dir-parent-relative",
     [L(symlink("up", "../sentinel"), hardlink("h", "up/secret"))], ArchiveError, "'h'"),
    ("hardlink-to-directory", [L(directory("d"), hardlink("h", "d"))], UnsafeEntryError, "'h'"),
    ("bare-whiteout", [L(file(".wh.", ""))], UnsafeEntryError, ".wh."),
    ("whiteout-of-dot", [L(file("d/.wh..", ""))], UnsafeEntryError, "d/.wh.."),
    ("whiteout-of-dotdot", [L(file("d/.wh...", ""))], UnsafeEntryError, "d/.wh..."),
    ("whiteout-dotdot-path", [L(file("../.wh.sentinel", ""))], UnsafeEntryError, "../.wh.sentinel"),
    ("nul-in-name", [pax_tar("a\x00b")], UnsafeEntryError, "a\\x00b"),
    ("nul-in-symlink", [pax_tar("s", "t\x00u", tarfile.SYMTYPE)], UnsafeEntryError, "'s'"),
    ("component-too-long", [L(file("a/" + "x" * 256, "x"))], ArchiveError, "a/xxxx"),
    ("path-too-long", [L(file("/".join(["d" * 200] * 21), "x"))], ArchiveError, "dddd"),
    ("symlink-loop", [L(symlink("a", "b"), symlink("b", "a"), file("a/x", "x"))], UnsafeEntryError, "'a/x'"),
    ("self-loop", [L(symlink("a", "a/b"), file("a/x", "x"))], UnsafeEntryError, "'a/x'"),
    ("file-as-parent", [L(file("f", "x"), file("f/g", "y"))], ArchiveError, "'f/g'"),
    ("empty-symlink", [L(symlink("s", ""))], ArchiveError, "'s'"),
    ("too-many-entries", [L(*[file(f"f{i}", "") for i in range(20)])], LimitExceededError, "'f10'"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
@pytest.mark.parametrize("policy", list(WhiteoutPolicy))
def test_refused(site: Path, case: tuple[str, list[list[Entry] | bytes], type[Exception], str],
                 policy: WhiteoutPolicy) -> None:
    if policy is WhiteoutPolicy.OVERLAY and os.geteuid() != 0:
        pytest.skip("overlay whiteouts need root")
    if policy is WhiteoutPolicy.NONE and "whiteout" in case[0]:
        pytest.skip("a plain archive (cp) has no whiteouts: '.wh.' names are ordinary files")
    _, layers, error, needle = case
    blobs = [layer if isinstance(layer, bytes) else _fix(site, layer) for layer in layers]
    before = outside(site)
    with pytest.raises(error) as info:
        run_case(site, blobs, policy, Limits(max_entries=10))
    assert needle in str(info.value)
    assert outside(site) == before


def _fix(site: Path, entries: list[Entry]) -> bytes:
    s = str(site / "sentinel")
    out = []
    for e in entries:
        out.append(Entry(e.name.replace(S, s), e.type, e.data, e.mode, e.uid, e.gid, e.mtime,
                         e.linkname.replace(S, s), e.devmajor, e.devminor, e.xattrs))
    return layer_tar(out)


# cases a layer may contain; the result is confined to dest. check(dest, sentinel) asserts where things went.
Check = Callable[[Path, Path], None]


def _in_root(rel: str, content: str) -> Check:
    def check(dest: Path, sentinel: Path) -> None:
        assert (dest / rel).read_text() == content

    return check


def _abs_sentinel_in_root(name: str, content: str) -> Check:
    def check(dest: Path, sentinel: Path) -> None:
        assert (dest / str(sentinel).lstrip("/") / name).read_text() == content

    return check


def _sentinel_untouched(dest: Path, sentinel: Path) -> None:
    pass  # the test compares the outside snapshot for every case


CONFINED: list[tuple[str, list[list[Entry]], Check]] = [
    ("absolute-name", [[file("/abs", "x")]], _in_root("abs", "x")),
    ("absolute-into-sentinel-path", [[file(f"{S}/secret", "pwned")]], _abs_sentinel_in_root("secret", "pwned")),
    ("write-through-absolute-symlink-parent", [[symlink("esc", S), file("esc/secret", "pwned")]],
     _abs_sentinel_in_root("secret", "pwned")),
    ("write-through-relative-symlink-parent", [[symlink("up", "../../../../.."), file("up/pwned", "x")]],
     _in_root("pwned", "x")),
    ("write-through-symlink-parent-from-lower-layer", [[symlink("esc", "../sentinel")], [file("esc/secret", "y")]],
     _in_root("sentinel/secret", "y")),
    ("symlink-dir-swap", [[directory("a"), file("a/x", "1"), symlink("a", S), file("a/secret", "pwned")]],
     _abs_sentinel_in_root("secret", "pwned")),
    ("dir-symlink-dir-swap", [[symlink("a", "../sentinel"), directory("a"), file("a/secret", "z")]],
     _in_root("a/secret", "z")),
    ("final-component-symlink-replaced-not-followed", [[symlink("f", f"{S}/secret"), file("f", "mine")]],
     _in_root("f", "mine")),
    ("symlink-to-sentinel-then-hardlink-to-it", [[symlink("f", f"{S}/secret"), hardlink("g", "f")]],
     _sentinel_untouched),
    ("whiteout-through-symlinked-parent", [[symlink("esc", S)], [file("esc/.wh.secret", "")]],
     _sentinel_untouched),
    ("opaque-through-symlinked-parent", [[symlink("esc", "../sentinel")], [opaque("esc")]], _sentinel_untouched),
    ("opaque-through-absolute-symlink", [[symlink("esc", S)], [opaque("esc/sub")]], _sentinel_untouched),
    ("whiteout-of-symlink-removes-the-link-only", [[symlink("esc", S)], [whiteout("esc")]],
     lambda d, s: None if not os.path.lexists(d / "esc") else pytest.fail("link kept")),
    ("dir-replaces-symlink", [[symlink("esc", S)], [directory("esc"), file("esc/secret", "w")]],
     _in_root("esc/secret", "w")),
    ("chain-of-symlinks", [[symlink("l1", "l2/../.."), symlink("l2", "/sentinel/.."), file("l1/top", "t")]],
     _in_root("top", "t")),
    ("dotdot-within-root", [[file("a/../b", "x")]], _in_root("b", "x")),
    ("device-named-like-whiteout-parent", [[directory(".wh.dir"), file(".wh.dir/x", "1")]],
     _in_root(".wh.dir/x", "1")),
]


@pytest.mark.parametrize("case", CONFINED, ids=[c[0] for c in CONFINED])
def test_confined(site: Path, case: tuple[str, list[list[Entry]], Check]) -> None:
    _, layers, check = case
    before = outside(site)
    run_case(site, [_fix(site, layer) for layer in layers])
    assert outside(site) == before
    check(site / "dest", site / "sentinel")


@pytest.mark.root
@pytest.mark.parametrize("case", CONFINED, ids=[c[0] for c in CONFINED])
def test_confined_overlay(site: Path, case: tuple[str, list[list[Entry]], Check]) -> None:
    _, layers, _ = case
    before = outside(site)
    for layer in layers:  # each layer in its own dir, as the layer store does
        d = site / "dest" / str(len(os.listdir(site / "dest")))
        d.mkdir()
        apply_layer(io.BytesIO(_fix(site, layer)), d, WhiteoutPolicy.OVERLAY)
    assert outside(site) == before


def test_stream_level_attacks(site: Path) -> None:
    before = outside(site)
    tar = layer_tar([file("f", b"x" * 100)])
    with pytest.raises(ArchiveError, match="non-zero data after the end-of-archive"):
        run_case(site, [tar + b"\0" * 512 + layer_tar([file("../sentinel/secret", "pwned")])])
    with pytest.raises(ArchiveError, match="'f'.*unexpected end"):
        run_case(site, [tar[:600]])
    with pytest.raises(LimitExceededError, match="limit"):
        run_case(site, [gzip_bytes(layer_tar([file("zeros", b"\0" * (4 << 20))]))], limits=Limits(max_bytes=1 << 20))
    assert outside(site) == before


class _Endless(io.RawIOBase):
    """``head`` and then zeros up to ``size`` bytes, made as they are read (a multi-GiB layer in no memory)."""

    def __init__(self, head: bytes, size: int) -> None:
        self.head, self.size, self.pos = head, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        n = min(len(b), self.size - self.pos)
        chunk = self.head[self.pos:self.pos + n]
        b[:len(chunk)] = chunk
        b[len(chunk):n] = bytes(n - len(chunk))
        self.pos += n
        return n


@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME,
                                  tarfile.GNUTYPE_LONGLINK])
@pytest.mark.parametrize("first", [True, False], ids=["first", "after-a-file"])
def test_a_huge_extended_header_is_refused_before_it_is_read(kind: bytes, first: bool, site: Path) -> None:
    """A PAX header or GNU long name that claims 4 GiB: refused from its size, with peak memory small."""
    import tracemalloc

    big = tarfile.TarInfo("././@LongLink" if kind in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
                          else "././@PaxHeader")
    big.type = kind
    big.size = 4 << 30
    head = (b"" if first else layer_tar([file("a", "x")])[:1024]) + big.tobuf(tarfile.GNU_FORMAT)
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceededError, match=r"of 4294967296 bytes .* larger than the 1048576-byte limit"):
            apply_layer(io.BufferedReader(_Endless(head, len(head) + (4 << 30))), site / "dest",  # type: ignore[arg-type]
                        WhiteoutPolicy.APPLY)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_an_ordinary_long_name_and_pax_records_still_pass(site: Path) -> None:
    name = "d/" + "/".join(["n" * 100] * 3)
    apply_layer(io.BytesIO(layer_tar([file(name, "x")], fmt=tarfile.GNU_FORMAT)), site / "dest",
                WhiteoutPolicy.APPLY)
    apply_layer(io.BytesIO(layer_tar([file(name + "p", "y")], fmt=tarfile.PAX_FORMAT)), site / "dest",
                WhiteoutPolicy.APPLY)
    assert (site / "dest" / name).read_text() == "x" and (site / "dest" / (name + "p")).read_text() == "y"
