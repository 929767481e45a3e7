"""geedocker.containers.lifecycle against a FakeBackend: what start, stop and kill ask of the runtime, unprivileged.

The runtime is faked (tests/support/fake_backend.py): what the engine asks of it is logged, and any call
can fail. Containers are made without their bundle (unprivileged).
"""

from __future__ import annotations

import os
import signal

import pytest

from geedocker.containers import lifecycle
from geedocker.containers.create import RootfsSource
from geedocker.containers.record import Status
from geedocker.containers.store import ContainerStore
from geedocker.errors import ContainerStateError
from geedocker.procs import start_time
from geedocker.store.layout import Layout
from tests.containers.conftest import created
from tests.support.fake_backend import FakeBackend


def test_kill_asks_the_runtime_only_for_a_running_container(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    me = os.getpid()
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        rec = created(layout, source, monkeypatch, "kk")
        with pytest.raises(ContainerStateError, match="is not running"):
            lifecycle.kill(layout, "kk", signal.SIGTERM)
        ContainerStore(layout).update_state(rec.id, status=Status.RUNNING, pid=me, pid_start=start_time(me))
        lifecycle.kill(layout, "kk", signal.SIGTERM)
    assert fake.calls == [("kill", rec.id, signal.SIGTERM)]
