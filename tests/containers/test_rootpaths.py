"""Paths in a container's root as ``cp`` reaches them: symlinks resolve inside the root (no root needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geedocker.archive.root import Root
from geedocker.containers.copyerrors import CopyError
from geedocker.containers.rootpaths import dir_at, fd_path, lexical, lookup


def test_lexical_drops_dotdot_above_the_top() -> None:
    assert lexical("/../../etc/./passwd") == "etc/passwd"
    assert lexical("a/b/../../../c") == "c"


def test_lookup_resolves_symlinks_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_text("in\n")
    os.symlink("/d", root / "abs")
    os.symlink("../../../..", root / "d" / "up")
    os.symlink("loop", root / "loop")
    with Root(root) as r:
        found = lookup(r, "/abs/f", False)  # an absolute link on the way restarts at the container's root
        assert found is not None and found[1:] == ("f", ("d", "f"))
        with open(fd_path(found[0], found[1])) as f:
            assert f.read() == "in\n"
        last = lookup(r, "/abs", False)  # the last component is itself without follow (-L)...
        assert last is not None and last[1:] == ("abs", ("abs",)) and not dir_at(last[0], last[1])
        followed = lookup(r, "/abs", True)  # ...and its target with it
        assert followed is not None and followed[1:] == ("d", ("d",)) and dir_at(followed[0], followed[1])
        assert lookup(r, "/d/up", True) == (r.fd, ".", ())  # '..' climbs no higher than the root
        assert lookup(r, "/nope", False) is None
        with pytest.raises(CopyError, match="too many levels of symbolic links"):
            lookup(r, "/loop", True)
