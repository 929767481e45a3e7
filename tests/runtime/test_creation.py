"""create's cleanup stack and its messages (no root needed: the steps themselves are covered by the root tests in
test_lifecycle.py and test_cleanup.py)."""

from __future__ import annotations

import contextlib
import os

import pytest

from geedocker.runtime import paths
from geedocker.runtime.creation import _on_failure
from geedocker.runtime.sync import Msg


def test_undo_steps_run_newest_first_and_only_on_failure() -> None:
    done: list[str] = []
    with pytest.raises(RuntimeError), contextlib.ExitStack() as stack:
        _on_failure(stack, done.append, "remove the dir")
        stack.callback(done.append, "close the fifo")  # always
        _on_failure(stack, done.append, "kill the children")
        raise RuntimeError("a step failed")
    assert done == ["kill the children", "close the fifo", "remove the dir"]
    done.clear()
    with contextlib.ExitStack() as stack:
        _on_failure(stack, done.append, "remove the dir")
        stack.callback(done.append, "close the fifo")
    assert done == ["close the fifo"]


def test_the_messages_have_distinct_names() -> None:
    names = [v for k, v in vars(Msg).items() if k.isupper()]
    assert len(names) == len(set(names)) == 8


def test_mount_target_is_a_proc_fd_path_closed_after(tmp_path: os.PathLike[str]) -> None:
    root = str(tmp_path)
    target = paths.make_target(root, "/a/b", directory=True)
    with paths.mount_target(root, target) as t:
        fd = int(t.rsplit("/", 1)[1])
        assert t == f"/proc/self/fd/{fd}" and os.readlink(t) == target
    with pytest.raises(OSError):
        os.fstat(fd)  # closed
    with pytest.raises(paths.UnsafePathError):
        paths.mount_target(root, "/etc")  # what the fd holds is checked to be below the root
