"""The layer from an overlay upper dir: changes, whiteouts, opaque dirs, hard links, runtime files left out."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from geedocker.archive.writer import tar_stream
from geedocker.images.layerdiff import Change, UpperDiff
from geedocker.images.union import walk

pytestmark = pytest.mark.root


def _whiteout(p: Path) -> None:
    os.mknod(p, 0o600 | 0o020000, os.makedev(0, 0))


def _tree(tmp: Path) -> tuple[Path, Path]:
    lower, upper = tmp / "lower", tmp / "upper"
    for d in ("etc", "usr/lib", "var/cache/x", "keep"):
        (lower / d).mkdir(parents=True)
    (lower / "etc/group").write_text("root:x:0:\n")
    (lower / "etc/passwd").write_text("root\n")
    (lower / "var/cache/x/old").write_text("old")
    (lower / "keep/a").write_text("a")
    # the upper dir, as overlayfs leaves it after: rm /etc/group; echo >> passwd; new hard-linked files;
    # rm -rf /var/cache/x && mkdir /var/cache/x (opaque); the runtime's /etc/hosts mount target; a new /proc
    for d in ("etc", "var/cache/x", "data", "proc"):
        (upper / d).mkdir(parents=True)
    _whiteout(upper / "etc/group")
    (upper / "etc/passwd").write_text("root\nnew\n")
    (upper / "etc/hosts").write_text("")
    os.setxattr(upper / "var/cache/x", "trusted.overlay.opaque", b"y")
    (upper / "var/cache/x/new").write_text("n")
    (upper / "data/one").write_text("same inode")
    os.link(upper / "data/one", upper / "data/two")
    os.chown(upper / "data/one", 1000, 2000)
    os.setxattr(upper / "data/one", "user.note", b"\xff\x00bin")
    return lower, upper


def test_changes_are_docker_diffs(tmp_path: Path) -> None:
    lower, upper = _tree(tmp_path)
    d = UpperDiff(upper, [lower], ["/etc/hosts", "/proc", "/dev"])
    assert d.changes() == [
        Change("A", "/data"), Change("A", "/data/one"), Change("A", "/data/two"),
        Change("C", "/etc"), Change("D", "/etc/group"), Change("C", "/etc/passwd"),
        Change("C", "/var"), Change("C", "/var/cache"), Change("C", "/var/cache/x"), Change("A", "/var/cache/x/new"),
    ]  # fmt: skip


def _layer(tmp_path: Path) -> tuple[Path, Path, io.BytesIO]:
    lower, upper = _tree(tmp_path)
    d = UpperDiff(upper, [lower], ["/etc/hosts", "/proc"])
    buf = io.BytesIO()
    with tar_stream(buf) as tw:
        d.write(tw)
    buf.seek(0)
    return lower, upper, buf


def test_layer_tar_has_oci_whiteouts_links_owners_and_xattrs(tmp_path: Path) -> None:
    _, _, buf = _layer(tmp_path)
    with tarfile.open(fileobj=buf) as tf:
        members = {m.name: m for m in tf.getmembers()}
    assert list(members) == [
        "data", "data/one", "data/two", "etc", "etc/.wh.group", "etc/passwd", "var", "var/cache", "var/cache/x",
        "var/cache/x/.wh..wh..opq", "var/cache/x/new",
    ]  # fmt: skip
    one, two = members["data/one"], members["data/two"]
    assert (one.uid, one.gid, one.size) == (1000, 2000, len("same inode"))
    assert two.islnk() and two.linkname == "data/one"
    assert one.pax_headers["SCHILY.xattr.user.note"].encode("utf-8", "surrogateescape") == b"\xff\x00bin"
    assert not any("overlay" in k for m in members.values() for k in m.pax_headers)


def test_layer_applied_over_lower_gives_the_merged_view(tmp_path: Path) -> None:
    from geedocker.archive.apply import apply_layer
    from geedocker.archive.options import WhiteoutPolicy

    lower, upper, buf = _layer(tmp_path)
    layer = tmp_path / "layer"
    layer.mkdir()
    apply_layer(buf, layer, WhiteoutPolicy.OVERLAY)
    merged = {n for n, _, _ in walk([layer, lower])}
    assert merged == {n for n, _, _ in walk([upper, lower])} - {"etc/hosts", "proc"}
    assert "etc/group" not in merged and "var/cache/x/old" not in merged
    assert {"keep/a", "var/cache/x/new", "usr/lib", "data/two"} <= merged


def test_runtime_made_parents_are_left_out(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    lower.mkdir()
    (upper / "etc").mkdir(parents=True)
    for f in ("hosts", "resolv.conf", "hostname"):
        (upper / "etc" / f).write_text("")
    (upper / "dev/pts").mkdir(parents=True)
    (upper / "app").mkdir()
    d = UpperDiff(upper, [lower], ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/dev", "/dev/pts"])
    assert d.changes() == [Change("A", "/app")]


def test_a_runtime_path_the_user_filled_is_kept(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    lower.mkdir()
    (upper / "etc").mkdir(parents=True)
    (upper / "etc/hostname").write_text("mine\n")
    d = UpperDiff(upper, [lower], ["/etc/hostname"])
    assert d.changes() == [Change("A", "/etc"), Change("A", "/etc/hostname")]


def test_union_walk_honours_whiteouts_and_opaque_dirs(tmp_path: Path) -> None:
    lower, upper = _tree(tmp_path)
    names = [n for n, _, _ in walk([upper, lower])]
    assert names == sorted(names, key=lambda n: n.split("/"))
    assert "etc/group" not in names and "var/cache/x/old" not in names
    assert {"etc/passwd", "keep/a", "var/cache/x/new"} <= set(names)
