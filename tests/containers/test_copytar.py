"""The tars ``cp`` writes: owners without -a, a directory's content, symlinks out of the extraction point
refused (no root needed)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from geedocker.containers.copyerrors import CopyError
from geedocker.containers.copytar import write_tar


def _tar(src: Path, name: str, arcname: str, contents: bool, owner: tuple[int, int] | None,
         into: str = "") -> list[tuple[str, int, int]]:  # fmt: skip
    out = io.BytesIO()
    fd = os.open(src, os.O_RDONLY | os.O_DIRECTORY)
    try:
        write_tar(out, fd, name, arcname, contents, owner, into)
    finally:
        os.close(fd)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        return [(m.name.rstrip("/"), m.uid, m.gid) for m in tf.getmembers()]


def test_write_tar_owners_and_contents(tmp_path: Path) -> None:
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "a").write_text("a\n")
    uid, gid = os.getuid(), os.getgid()
    assert _tar(tmp_path, "dir", "dir", False, None) == [("dir", uid, gid), ("dir/a", uid, gid),
                                                        ("dir/sub", uid, gid)]  # fmt: skip
    assert _tar(tmp_path, "dir", "x", False, (7, 8)) == [("x", 7, 8), ("x/a", 7, 8), ("x/sub", 7, 8)]
    assert [n for n, _, _ in _tar(tmp_path / "dir", ".", ".", True, None)] == ["a", "sub"]  # SRC/.: the content


def test_a_relative_symlink_out_of_the_extraction_point_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    os.symlink("../../out", tmp_path / "dir" / "up")
    os.symlink("/abs", tmp_path / "dir" / "abs")
    with pytest.raises(CopyError, match='invalid symlink "/dest/dir/up" -> "../../out"'):
        _tar(tmp_path, "dir", "dir", False, None, into="/dest")
    names = [n for n, _, _ in _tar(tmp_path, "dir", "dir", False, None)]  # a stream (no extraction point): kept
    assert names == ["dir", "dir/abs", "dir/up"]
