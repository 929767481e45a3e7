"""geedocker.containers.refresh against a FakeBackend: a record that claims to run, its processes gone.

The runtime is faked (tests/support/fake_backend.py): what the engine asks of it is logged, and any call
can fail. Containers are made without their bundle (unprivileged).
"""

from __future__ import annotations

import pytest

from geedocker.containers.create import RootfsSource
from geedocker.containers.record import Status
from geedocker.containers.refresh import refresh
from geedocker.containers.store import ContainerStore
from geedocker.errors import ContainerError
from geedocker.store.layout import Layout
from tests.containers.conftest import created, me_dead
from tests.support.fake_backend import FakeBackend


def test_a_running_record_whose_processes_died_takes_the_runtimes_exit_code(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend(exit_code=3, finished_at="2026-01-02T03:04:05.000006Z")
    with fake.installed(monkeypatch):
        rec = created(layout, source, monkeypatch, "crashed")
        dead = ContainerStore(layout).update_state(rec.id, status=Status.RUNNING, pid=me_dead(), pid_start=1)
        fixed = refresh(layout, dead)
    assert fixed.state.status == Status.EXITED and fixed.state.exit_code == 3 and fixed.state.error == ""
    assert fixed.state.finished_at == "2026-01-02T03:04:05.000006Z"  # the exit's time, not the refresh's
    assert fake.ops() == ["state", "delete"]


def test_without_the_runtimes_exit_code_the_record_says_the_monitor_died(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend(fail={"state": ContainerError("no such container")})
    with fake.installed(monkeypatch):
        rec = created(layout, source, monkeypatch, "lost")
        dead = ContainerStore(layout).update_state(rec.id, status=Status.RUNNING, pid=me_dead(), pid_start=1)
        fixed = refresh(layout, dead)
    assert (fixed.state.status, fixed.state.exit_code) == (Status.EXITED, 255)
    assert fixed.state.error == "the container's monitor died"
    assert fake.ops() == ["state", "delete"]  # delete is still asked for: the runtime's leftovers go
