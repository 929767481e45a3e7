"""Whiteouts and opaque markers (``archive.whiteouts``): deleting in ``APPLY``, devices and an xattr in ``OVERLAY``."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from geedocker.archive import flatten
from tests.support.apply import OVERLAY, apply
from tests.support.layers import (
    directory,
    file,
    layer_tar,
    opaque,
    whiteout,
)


def test_whiteout_deletes_lower_file_and_directory(tmp_path: Path) -> None:
    flatten([io.BytesIO(layer_tar([directory("d"), file("d/f", "x"), directory("d/sub"), file("d/sub/g", "y")])),
             io.BytesIO(layer_tar([whiteout("d/f"), whiteout("d/sub"), whiteout("d/never-existed")]))], tmp_path)
    assert sorted(os.listdir(tmp_path / "d")) == []


def test_whiteout_spares_the_same_layers_entry_in_any_order(tmp_path: Path) -> None:
    apply(tmp_path, [file("before", "lower"), file("after", "lower")])
    apply(tmp_path, [file("before", "upper"), whiteout("before"), whiteout("after"), file("after", "upper")])
    assert (tmp_path / "before").read_text() == "upper"
    assert (tmp_path / "after").read_text() == "upper"


def test_whiteout_of_a_directory_this_layer_rewrote_hides_lower_children(tmp_path: Path) -> None:
    apply(tmp_path, [directory("d"), file("d/lower", "x")])
    apply(tmp_path, [directory("d"), file("d/upper", "y"), whiteout("d")])
    assert os.listdir(tmp_path / "d") == ["upper"]


def test_whited_out_then_re_added_in_a_later_layer_exists(tmp_path: Path) -> None:
    flatten([io.BytesIO(layer_tar([file("f", "1"), directory("d"), file("d/x", "1")])),
             io.BytesIO(layer_tar([whiteout("f"), whiteout("d")])),
             io.BytesIO(layer_tar([file("f", "3"), directory("d")]))], tmp_path)
    assert (tmp_path / "f").read_text() == "3"
    assert os.listdir(tmp_path / "d") == []


@pytest.mark.parametrize("marker_first", [True, False])
def test_opaque_removes_lower_content_but_keeps_this_layers(tmp_path: Path, marker_first: bool) -> None:
    apply(tmp_path, [directory("d"), file("d/lower", "x"), directory("d/sub"), file("d/sub/lower", "x"),
                     directory("d/gone"), file("d/gone/x", "x"), file("keep", "outside d")])
    upper = [directory("d"), file("d/new", "y"), directory("d/sub"), file("d/sub/new", "y"), file("d/a/b/c", "z")]
    apply(tmp_path, [opaque("d"), *upper] if marker_first else [*upper, opaque("d")])
    found = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "d").rglob("*"))
    assert found == ["d/a", "d/a/b", "d/a/b/c", "d/new", "d/sub", "d/sub/new"]
    assert (tmp_path / "keep").exists()


def test_opaque_marker_of_a_missing_directory_is_harmless(tmp_path: Path) -> None:
    apply(tmp_path, [file("x", "1")])
    apply(tmp_path, [opaque("no/such/dir"), whiteout("no/such/file")])
    assert not (tmp_path / "no").exists()
    assert (tmp_path / "x").exists()


def test_aufs_metadata_entries_are_ignored(tmp_path: Path) -> None:
    apply(tmp_path, [file(".wh..wh.plnk/123.456", "x"), file(".wh..wh.aufs", ""), file("f", "y")])
    assert sorted(os.listdir(tmp_path)) == ["f"]


@pytest.mark.root
def test_overlay_whiteouts_are_0_0_char_devices_and_opaque_is_an_xattr(tmp_path: Path) -> None:
    apply(tmp_path, [directory("d"), whiteout("d/gone"), opaque("o"), directory("o"), file("o/f", "x"),
                     file("kept", "mine"), whiteout("kept"), directory("w"), whiteout("w/x")], OVERLAY)
    st = os.lstat(tmp_path / "d/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0 and (st.st_uid, st.st_gid) == (0, 0)
    assert os.getxattr(tmp_path / "o", "trusted.overlay.opaque") == b"y"
    assert (tmp_path / "o/f").read_text() == "x"
    assert (tmp_path / "kept").read_text() == "mine"  # a whiteout hides lower layers only
    assert not (tmp_path / ".wh.kept").exists()
    assert stat.S_ISCHR(os.lstat(tmp_path / "w/x").st_mode)


@pytest.mark.root
def test_overlay_entry_after_its_whiteout_replaces_the_device(tmp_path: Path) -> None:
    apply(tmp_path, [whiteout("f"), file("f", "new"), whiteout("d"), directory("d")], OVERLAY)
    assert (tmp_path / "f").read_text() == "new"
    assert stat.S_ISDIR(os.lstat(tmp_path / "d").st_mode)
    # the directory replaced a whiteout: it must hide what lower layers had there
    assert os.getxattr(tmp_path / "d", "trusted.overlay.opaque") == b"y"


@pytest.mark.root
def test_overlay_root_opaque_marker(tmp_path: Path) -> None:
    dest = tmp_path / "d"
    apply(dest, [opaque("."), file("f", "x")], OVERLAY)
    assert os.getxattr(dest, "trusted.overlay.opaque") == b"y"
