"""geedocker.containers.lifecycle against a FakeBackend: the engine's failure and cleanup paths, unprivileged.

The runtime is faked (tests/support/fake_backend.py): what the engine asks of it is logged, and any call
can fail. The overlay and the network are not touched: the bundle writer is replaced where a test says so.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from geedocker.containers import lifecycle
from geedocker.containers.lifecycle import RootfsSource
from geedocker.containers.options import RunOptions
from geedocker.containers.plan import ContainerPlan
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import ContainerStore
from geedocker.errors import ContainerError, ContainerStateError
from geedocker.network.options import NetworkOptions
from geedocker.oci import ContainerConfig
from geedocker.procs import start_time
from geedocker.store.layout import Layout
from geedocker.values import replace
from tests.support.fake_backend import FakeBackend

OPTS = RunOptions(net=NetworkOptions(mode="none"))


@pytest.fixture
def source(tmp_path: Path) -> RootfsSource:
    lower = tmp_path / "layer"
    lower.mkdir()
    return RootfsSource((lower,), ContainerConfig(cmd=("true",)), image="fake:1")


def _created(layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch, name: str) -> ContainerRecord:
    """A container record as ``create`` makes it, without its bundle (no overlay: unprivileged)."""
    monkeypatch.setattr(lifecycle, "_write_bundle", lambda store, rec, plan, starting: None)
    return lifecycle.create(layout, source, replace(OPTS, name=name))


def test_a_failed_prepare_leaves_no_container_and_discards_what_it_prepared(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend(fail={"prepare": ContainerError("no cgroups here")})
    with fake.installed(monkeypatch), pytest.raises(ContainerError, match="no cgroups here"):
        lifecycle.create(layout, source, replace(OPTS, name="c1"), starting=True)
    assert ContainerStore(layout).list() == []
    assert fake.ops() == ["prepare", "discard"]
    cid = fake.calls[0][1]
    assert fake.calls[0] == ("prepare", cid, f"/geedocker/{cid}") == ("prepare", *fake.calls[1][1:])
    with fake.installed(monkeypatch):
        assert _created(layout, source, monkeypatch, "c1").name == "c1"  # the name is free again


def test_a_failure_after_prepare_discards_it_and_removes_the_record(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(store: ContainerStore, rec: ContainerRecord, plan: ContainerPlan, starting: bool) -> None:
        (store.dir(rec.id) / "half-written").write_text("x")
        raise ContainerError("disk full while writing the bundle")

    monkeypatch.setattr(lifecycle, "_write_bundle", broken)
    fake = FakeBackend()
    with fake.installed(monkeypatch), pytest.raises(ContainerError, match="disk full"):
        lifecycle.create(layout, source, OPTS, starting=True)
    assert fake.ops() == ["prepare", "discard"]
    assert ContainerStore(layout).list() == []
    assert not any(p.name == fake.calls[0][1] for p in layout.containers.iterdir())


def test_create_without_starting_asks_nothing_of_the_runtime(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        rec = _created(layout, source, monkeypatch, "quiet")
    assert fake.calls == []
    assert rec.runtime == "fake" and rec.state.status == Status.CREATED


def test_rm_goes_on_when_the_runtime_fails_to_delete(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend(fail={"delete": ContainerError("runtime state is corrupt")})
    with fake.installed(monkeypatch):
        rec = _created(layout, source, monkeypatch, "gone")
        lifecycle.remove(layout, "gone")
    assert fake.calls == [("delete", rec.id, True)]
    assert not ContainerStore(layout).dir(rec.id).exists()
    assert ContainerStore(layout).list() == []


def test_rm_refuses_a_running_container_without_force_and_kills_it_with(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    me = os.getpid()
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        rec = _created(layout, source, monkeypatch, "busy")
        # "running" as this test process: alive, so refresh keeps it running
        ContainerStore(layout).update_state(rec.id, status=Status.RUNNING, pid=me, pid_start=start_time(me))
        with pytest.raises(ContainerStateError, match="cannot remove a running container"):
            lifecycle.remove(layout, "busy")
        assert fake.calls == []
        monkeypatch.setattr(lifecycle, "_wait_not_running", lambda layout, rec, timeout: True)
        lifecycle.remove(layout, "busy", force=True)
    assert fake.calls == [("kill", rec.id, signal.SIGKILL), ("delete", rec.id, True)]
    assert ContainerStore(layout).list() == []


def test_a_running_record_whose_processes_died_takes_the_runtimes_exit_code(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend(exit_code=3, finished_at="2026-01-02T03:04:05.000006Z")
    with fake.installed(monkeypatch):
        rec = _created(layout, source, monkeypatch, "crashed")
        dead = ContainerStore(layout).update_state(rec.id, status=Status.RUNNING, pid=me_dead(), pid_start=1)
        fixed = lifecycle.refresh(layout, dead)
    assert fixed.state.status == Status.EXITED and fixed.state.exit_code == 3 and fixed.state.error == ""
    assert fixed.state.finished_at == "2026-01-02T03:04:05.000006Z"  # the exit's time, not the refresh's
    assert fake.ops() == ["state", "delete"]


def test_without_the_runtimes_exit_code_the_record_says_the_monitor_died(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend(fail={"state": ContainerError("no such container")})
    with fake.installed(monkeypatch):
        rec = _created(layout, source, monkeypatch, "lost")
        dead = ContainerStore(layout).update_state(rec.id, status=Status.RUNNING, pid=me_dead(), pid_start=1)
        fixed = lifecycle.refresh(layout, dead)
    assert (fixed.state.status, fixed.state.exit_code) == (Status.EXITED, 255)
    assert fixed.state.error == "the container's monitor died"
    assert fake.ops() == ["state", "delete"]  # delete is still asked for: the runtime's leftovers go


def test_kill_asks_the_runtime_only_for_a_running_container(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    me = os.getpid()
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        rec = _created(layout, source, monkeypatch, "kk")
        with pytest.raises(ContainerStateError, match="is not running"):
            lifecycle.kill(layout, "kk", signal.SIGTERM)
        ContainerStore(layout).update_state(rec.id, status=Status.RUNNING, pid=me, pid_start=start_time(me))
        lifecycle.kill(layout, "kk", signal.SIGTERM)
    assert fake.calls == [("kill", rec.id, signal.SIGTERM)]


def me_dead() -> int:
    """A pid that is not running: a child that has exited and been reaped."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


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
        rec = _created(layout, source, monkeypatch, "broken")
        _damage(layout, rec, how)
        (damaged,) = ContainerStore(layout).list()
        assert damaged.damaged and damaged.name == "broken"
        with pytest.raises(ContainerStateError, match="marked for removal and cannot be started"):
            lifecycle.start(layout, "broken")
        lifecycle.remove(layout, "broken" if by == "name" else rec.id)
        assert ("delete", rec.id, True) in fake.calls  # the runtime's state goes, found by the id
        assert ContainerStore(layout).ids() == []
        assert not (layout.containers / f".removing-{rec.id}").exists()
        assert _created(layout, source, monkeypatch, "broken").name == "broken"  # the name is free


def test_rm_of_a_damaged_record_whose_container_runs_needs_force(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        rec = _created(layout, source, monkeypatch, "alive")
        fake.status[rec.id] = "running"  # the runtime still runs it
        _damage(layout, rec, "truncated")
        with pytest.raises(ContainerStateError, match="cannot remove a running container"):
            lifecycle.remove(layout, "alive")
        assert lifecycle.prune(layout) == []  # not stopped: prune leaves it
        lifecycle.remove(layout, "alive", force=True)
    assert fake.status == {} and ContainerStore(layout).ids() == []


def test_prune_removes_damaged_records_and_sweeps_interrupted_creates(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        a = _created(layout, source, monkeypatch, "aa")
        b = _created(layout, source, monkeypatch, "bb")
        _damage(layout, a, "truncated")
        _damage(layout, b, "missing")
        left = layout.containers / (".creating-" + "e" * 64)
        left.mkdir()
        (layout.containers / ".names" / "ghost").write_text("f" * 64)
        assert sorted(lifecycle.prune(layout)) == sorted([a.id, b.id])
    assert set(os.listdir(layout.containers)) - {".index"} == {".names"}
    assert os.listdir(layout.containers / ".names") == []
