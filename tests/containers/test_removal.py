"""geedocker.containers.removal against a FakeBackend: rm, rm -f and prune, damaged records included, unprivileged.

The runtime is faked (tests/support/fake_backend.py): what the engine asks of it is logged, and any call
can fail. The overlay and the network are not touched: containers are made without their bundle.
"""

from __future__ import annotations

import os
import signal

import pytest

from geedocker.containers import lifecycle, removal
from geedocker.containers.create import RootfsSource
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import ContainerStore
from geedocker.errors import ContainerError, ContainerStateError
from geedocker.procs import start_time
from geedocker.store.layout import Layout
from tests.containers.conftest import created
from tests.support.fake_backend import FakeBackend


def test_rm_goes_on_when_the_runtime_fails_to_delete(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend(fail={"delete": ContainerError("runtime state is corrupt")})
    with fake.installed(monkeypatch):
        rec = created(layout, source, monkeypatch, "gone")
        removal.remove(layout, "gone")
    assert fake.calls == [("delete", rec.id, True)]
    assert not ContainerStore(layout).dir(rec.id).exists()
    assert ContainerStore(layout).list() == []


def test_rm_refuses_a_running_container_without_force_and_kills_it_with(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    me = os.getpid()
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        rec = created(layout, source, monkeypatch, "busy")
        # "running" as this test process: alive, so refresh keeps it running
        ContainerStore(layout).update_state(rec.id, status=Status.RUNNING, pid=me, pid_start=start_time(me))
        with pytest.raises(ContainerStateError, match="cannot remove a running container"):
            removal.remove(layout, "busy")
        assert fake.calls == []
        monkeypatch.setattr(removal, "wait_not_running", lambda layout, rec, timeout: True)
        removal.remove(layout, "busy", force=True)
    assert fake.calls == [("kill", rec.id, signal.SIGKILL), ("delete", rec.id, True)]
    assert ContainerStore(layout).list() == []


# ---------------------------------------------------------------- damaged records


def _damage(layout: Layout, rec: ContainerRecord, how: str) -> None:
    path = ContainerStore(layout).record_path(rec.id)
    if how == "missing":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:150])  # a write cut short
    ContainerStore(layout).index.discard()  # as after the reboot that a power cut brings


@pytest.mark.parametrize("how", ["truncated", "missing"])
@pytest.mark.parametrize("by", ["name", "id"])
def test_rm_of_a_damaged_record_removes_the_container_and_frees_its_name(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch, how: str, by: str) -> None:
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        rec = created(layout, source, monkeypatch, "broken")
        _damage(layout, rec, how)
        (damaged,) = ContainerStore(layout).list()
        assert damaged.damaged and damaged.name == "broken"
        with pytest.raises(ContainerStateError, match="marked for removal and cannot be started"):
            lifecycle.start(layout, "broken")
        removal.remove(layout, "broken" if by == "name" else rec.id)
        assert ("delete", rec.id, True) in fake.calls  # the runtime's state goes, found by the id
        assert ContainerStore(layout).ids() == []
        assert not (layout.containers / f".removing-{rec.id}").exists()
        assert created(layout, source, monkeypatch, "broken").name == "broken"  # the name is free


def test_rm_of_a_damaged_record_whose_container_runs_needs_force(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        rec = created(layout, source, monkeypatch, "alive")
        fake.status[rec.id] = "running"  # the runtime still runs it
        _damage(layout, rec, "truncated")
        with pytest.raises(ContainerStateError, match="cannot remove a running container"):
            removal.remove(layout, "alive")
        assert removal.prune(layout) == []  # not stopped: prune leaves it
        removal.remove(layout, "alive", force=True)
    assert fake.status == {} and ContainerStore(layout).ids() == []


def test_prune_removes_damaged_records_and_sweeps_interrupted_creates(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        a = created(layout, source, monkeypatch, "aa")
        b = created(layout, source, monkeypatch, "bb")
        _damage(layout, a, "truncated")
        _damage(layout, b, "missing")
        left = layout.containers / (".creating-" + "e" * 64)
        left.mkdir()
        (layout.containers / ".names" / "ghost").write_text("f" * 64)
        assert sorted(removal.prune(layout)) == sorted([a.id, b.id])
    assert set(os.listdir(layout.containers)) - {".index"} == {".names"}
    assert os.listdir(layout.containers / ".names") == []
