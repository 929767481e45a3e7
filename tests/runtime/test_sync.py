"""The messages between the runtime and the processes it forks (runtime.sync)."""

from __future__ import annotations

import contextlib

import pytest

from geedocker.errors import ContainerError
from geedocker.runtime import sync
from geedocker.runtime.sync import Msg, SyncError


def test_a_message_round_trips() -> None:
    a, b = sync.pair()
    with contextlib.closing(a), contextlib.closing(b):
        sync.send(b, Msg.PID, pid=42)
        assert sync.expect(a, Msg.PID, timeout=5) == {"type": Msg.PID, "pid": 42}


def test_the_error_of_a_child_that_exited_with_our_message_unread_is_read() -> None:
    """Linux reports ECONNRESET before the messages the peer sent when it closed with ours unread."""
    a, b = sync.pair()
    with contextlib.closing(a):
        sync.send(a, Msg.JOINED)  # the child never reads it
        sync.send(b, Msg.ERROR, **sync.error_message(ContainerError("mount /nonexistent-source: no such file")))
        b.close()
        with pytest.raises(ContainerError, match="nonexistent-source"):
            sync.recv(a, timeout=5)


def test_a_child_that_exited_without_a_word_is_an_eof() -> None:
    a, b = sync.pair()
    with contextlib.closing(a):
        sync.send(a, Msg.JOINED)
        b.close()
        with pytest.raises(SyncError, match="exited during setup"):
            sync.recv(a, timeout=5)
