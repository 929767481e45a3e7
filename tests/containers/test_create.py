"""geedocker.containers.create against a FakeBackend: a create that fails leaves nothing behind, unprivileged.

The runtime is faked (tests/support/fake_backend.py): what the engine asks of it is logged, and any call
can fail. The overlay and the network are not touched: the bundle writer is replaced where a test says so.
"""

from __future__ import annotations

import pytest

from geedocker.containers import create as creation
from geedocker.containers.create import RootfsSource, create
from geedocker.containers.plan import ContainerPlan
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import ContainerStore
from geedocker.errors import ContainerError
from geedocker.store.layout import Layout
from geedocker.values import replace
from tests.containers.conftest import OPTS, created
from tests.support.fake_backend import FakeBackend


def test_a_failed_prepare_leaves_no_container_and_discards_what_it_prepared(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend(fail={"prepare": ContainerError("no cgroups here")})
    with fake.installed(monkeypatch), pytest.raises(ContainerError, match="no cgroups here"):
        create(layout, source, replace(OPTS, name="c1"), starting=True)
    assert ContainerStore(layout).list() == []
    assert fake.ops() == ["prepare", "discard"]
    cid = fake.calls[0][1]
    assert fake.calls[0] == ("prepare", cid, f"/geedocker/{cid}") == ("prepare", *fake.calls[1][1:])
    with fake.installed(monkeypatch):
        assert created(layout, source, monkeypatch, "c1").name == "c1"  # the name is free again


def test_a_failure_after_prepare_discards_it_and_removes_the_record(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(store: ContainerStore, rec: ContainerRecord, plan: ContainerPlan, starting: bool) -> None:
        (store.dir(rec.id) / "half-written").write_text("x")
        raise ContainerError("disk full while writing the bundle")

    monkeypatch.setattr(creation, "write_bundle", broken)
    fake = FakeBackend()
    with fake.installed(monkeypatch), pytest.raises(ContainerError, match="disk full"):
        create(layout, source, OPTS, starting=True)
    assert fake.ops() == ["prepare", "discard"]
    assert ContainerStore(layout).list() == []
    assert not any(p.name == fake.calls[0][1] for p in layout.containers.iterdir())


def test_create_without_starting_asks_nothing_of_the_runtime(
        layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBackend()
    with fake.installed(monkeypatch):
        rec = created(layout, source, monkeypatch, "quiet")
    assert fake.calls == []
    assert rec.runtime == "fake" and rec.state.status == Status.CREATED
