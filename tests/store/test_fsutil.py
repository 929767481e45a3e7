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


def test_remove_tree_removes_everything_below_but_never_follows_links(tmp_path: Path) -> None:
    from geedocker.store.fsutil import remove_tree

    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "keep").write_text("k")
    top = tmp_path / "top"
    (top / "a" / "b" / "c").mkdir(parents=True)
    (top / "a" / "b" / "c" / "f").write_text("x")
    (top / "a" / "file").write_text("y")
    (top / "a" / "dirlink").symlink_to(outside)
    (top / "filelink").symlink_to(outside / "deep" / "keep")
    os.mkfifo(top / "fifo")
    remove_tree(top)
    assert not top.exists()
    assert (outside / "deep" / "keep").read_text() == "k"


def test_remove_tree_of_a_link_or_a_file_or_nothing(tmp_path: Path) -> None:
    from geedocker.store.fsutil import remove_tree

    target = tmp_path / "target"
    target.mkdir()
    (target / "f").write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target)
    remove_tree(link)  # the link goes, the directory it points to stays
    assert not link.is_symlink() and (target / "f").exists()
    remove_tree(target / "f")
    assert not (target / "f").exists()
    remove_tree(tmp_path / "missing")  # nothing there: no error


def test_temp_file_is_private_and_new(tmp_path: Path) -> None:
    from geedocker.store.fsutil import temp_file

    fds, paths = [], []
    for _ in range(20):
        fd, p = temp_file(tmp_path, "blob-")
        fds.append(fd)
        paths.append(p)
    try:
        assert len(set(paths)) == 20
        for p in paths:
            assert os.path.dirname(p) == str(tmp_path) and os.path.basename(p).startswith("blob-")
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    finally:
        for fd in fds:
            os.close(fd)


@pytest.mark.parametrize(("durable", "fsyncs"), [(True, 2), (False, 0)])
def test_atomic_write_fsyncs_file_and_directory_only_when_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   durable: bool, fsyncs: int) -> None:
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    atomic_write(tmp_path / "state.json", b"{}", durable=durable)
    assert len(calls) == fsyncs
    assert (tmp_path / "state.json").read_bytes() == b"{}"
    assert os.listdir(tmp_path) == ["state.json"]
