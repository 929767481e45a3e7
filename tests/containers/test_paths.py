from __future__ import annotations

import os
from pathlib import Path

import pytest

from geedocker.containers.paths import mkdir_in_root, read_file_in_root, secure_join
from geedocker.errors import ContainerError


def test_secure_join_confines_symlinks_and_dotdot(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    os.symlink("/", tmp_path / "a/up")
    os.symlink("../../..", tmp_path / "a/rel")
    os.symlink("loop2", tmp_path / "loop1")
    os.symlink("loop1", tmp_path / "loop2")
    assert secure_join(tmp_path, "/../../etc") == tmp_path / "etc"
    assert secure_join(tmp_path, "a/up/etc/passwd") == tmp_path / "etc/passwd"
    assert secure_join(tmp_path, "a/rel/x") == tmp_path / "x"
    assert secure_join(tmp_path, "new/dir") == tmp_path / "new/dir"
    with pytest.raises(ContainerError, match="symbolic links"):
        secure_join(tmp_path, "loop1/x")


def test_read_file_in_root(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"data")
    (tmp_path / "d").mkdir()
    assert read_file_in_root(tmp_path, "/f") == b"data"
    assert read_file_in_root(tmp_path, "/missing") is None
    assert read_file_in_root(tmp_path, "/d") is None
    with pytest.raises(ContainerError, match="larger"):
        read_file_in_root(tmp_path, "/f", limit=2)


def test_mkdir_in_root(tmp_path: Path) -> None:
    os.symlink("/elsewhere", tmp_path / "link")
    made = mkdir_in_root(tmp_path, "/link/x/y")
    assert made == tmp_path / "elsewhere/x/y" and made.is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(ContainerError):
        mkdir_in_root(tmp_path, "/file")
