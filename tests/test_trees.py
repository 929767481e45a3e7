"""geedocker.trees: the one tree removal (fd-based, never through a symlink, optionally leaving what it cannot)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geedocker.store.fsutil import remove_tree
from geedocker.trees import rmtree


def _tree(root: Path, outside: Path) -> None:
    (root / "a/b/c").mkdir(parents=True)
    (root / "a/b/c/f").write_text("x")
    (root / "ro").mkdir()
    (root / "ro/g").write_text("y")
    os.chmod(root / "ro", 0o500)
    (root / "link").symlink_to(outside)


def test_rmtree_removes_everything_and_never_follows_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("k")
    _tree(tmp_path / "t", outside)
    rmtree(tmp_path / "t")
    assert not (tmp_path / "t").exists()
    assert (outside / "keep").read_text() == "k"
    rmtree(tmp_path / "t")  # missing: nothing
    rmtree(tmp_path / "no/such/parent")


def test_remove_tree_leaves_what_it_cannot_remove_and_removes_the_rest(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs a mount point (root) to make a directory that cannot be removed")
    import subprocess

    t = tmp_path / "t"
    (t / "busy").mkdir(parents=True)
    (t / "gone").mkdir()
    (t / "gone/f").write_text("x")
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(t / "busy")], check=True)
    try:
        with pytest.raises(OSError):
            rmtree(t)
        remove_tree(t)  # ignore_errors: the mount point stays (EBUSY), the rest goes
        assert (t / "busy").is_dir() and not (t / "gone").exists()
    finally:
        subprocess.run(["umount", str(t / "busy")], check=True)
    remove_tree(t)
    assert not t.exists()
