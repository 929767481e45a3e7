"""geedocker.store.fsutil: atomic writes leave the old or the new file, and no temporary files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from geedocker.errors import StoreError
from geedocker.store.fsutil import atomic_write


def test_atomic_write_creates_replaces_and_sets_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.json"
    atomic_write(target, b"one", 0o640)
    assert target.read_bytes() == b"one"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(target.parent) == ["f.json"]  # no temporary file left


def test_atomic_write_failure_keeps_nothing_half_written(tmp_path: Path) -> None:
    target = tmp_path / "d"
    target.mkdir()
    (target / "inside").write_text("x")  # a non-empty directory cannot be replaced by a file
    with pytest.raises(StoreError, match=str(target)):
        atomic_write(target, b"data")
    assert sorted(os.listdir(tmp_path)) == ["d"]
    assert (target / "inside").read_text() == "x"
