"""What the applier remembers of a layer (``archive.state``): parents it made, lower directories it changed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.support.apply import T0, apply
from tests.support.layers import (
    directory,
    file,
    whiteout,
)


def test_missing_parents_are_created_0755(tmp_path: Path) -> None:
    apply(tmp_path, [file("a/b/c/f", "x")])
    assert (tmp_path / "a/b/c/f").read_text() == "x"
    for d in ("a", "a/b", "a/b/c"):
        assert stat.S_IMODE(os.lstat(tmp_path / d).st_mode) == 0o755


def test_lower_directory_keeps_its_times_when_a_layer_changes_it_without_listing_it(tmp_path: Path) -> None:
    apply(tmp_path, [directory("d", mtime=T0), file("d/old", "x"), directory("e", mtime=T0), file("e/x", "y")])
    apply(tmp_path, [file("d/new", "y"), whiteout("e/x")])
    assert os.lstat(tmp_path / "d").st_mtime == T0
    assert os.lstat(tmp_path / "e").st_mtime == T0
    apply(tmp_path, [directory("d", mtime=T0 + 7), file("d/newer", "z")])
    assert os.lstat(tmp_path / "d").st_mtime == T0 + 7
