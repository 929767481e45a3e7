"""Damaged records: a record that cannot be read shows as a dead container, with what can be read of it, and
keeps its name until the container is removed (no root needed)."""

from __future__ import annotations

import os

import pytest

from geedocker.containers.record import Status
from geedocker.containers.store import ContainerStore
from geedocker.errors import NameConflictError, StoreError
from geedocker.store.layout import Layout
from tests.containers.conftest import record_maker


@pytest.mark.parametrize("text", ["", "[]", "null", "42", '"x"', '{"name": 1}', "\x00\x00\x00"])
def test_a_record_of_the_wrong_shape_is_a_damaged_container(layout: Layout, text: str) -> None:
    store = ContainerStore(layout)
    rec = store.create(record_maker(), "x")
    store.record_path(rec.id).write_text(text)
    with pytest.raises(StoreError, match=f"{store.record_path(rec.id)}: corrupt container record"):
        store.load(rec.id)
    got = store.load_any(rec.id)
    assert (got.id, got.name, got.state.status) == (rec.id, "x", Status.DEAD)


def test_a_truncated_record_keeps_what_can_be_read(layout: Layout) -> None:
    store = ContainerStore(layout)
    rec = store.create(record_maker("registry.example/app:1"), "web")
    whole = store.record_path(rec.id).read_bytes()
    store.record_path(rec.id).write_bytes(whole[: whole.index(b'"args"')])  # a write cut short
    got = store.load_any(rec.id)
    assert got.damaged and got.state.status == Status.DEAD
    assert (got.name, got.image, got.created) == ("web", "registry.example/app:1", rec.created)
    for ref in (rec.id, "web", "/web", rec.id[:12]):
        assert store.resolve(ref).id == rec.id
    with pytest.raises(StoreError, match="corrupt container record"):
        store.update_state(rec.id, status=Status.EXITED)  # never written over: it stays for rm -f
    assert store.record_path(rec.id).read_bytes() == whole[: whole.index(b'"args"')]


def test_a_damaged_record_keeps_its_name_until_the_container_is_removed(layout: Layout) -> None:
    store = ContainerStore(layout)
    rec = store.create(record_maker(), "web")
    store.record_path(rec.id).write_bytes(b'{"id": "')
    with pytest.raises(NameConflictError, match=rec.id):
        store.create(record_maker(), "web")
    store.remove_dir(rec.id, store.load_any(rec.id).name)
    assert store.list() == [] and os.listdir(layout.containers / ".names") == []
    assert store.create(record_maker(), "web").name == "web"


def test_a_dir_without_a_record_is_a_damaged_container(layout: Layout) -> None:
    """A store where a crash came between the dir and its record (as geedocker made them before)."""
    store = ContainerStore(layout)
    rec = store.create(record_maker(), "web")
    store.record_path(rec.id).unlink()
    store.index.discard()
    (got,) = store.list()
    assert (got.id, got.name, got.state.status) == (rec.id, "web", Status.DEAD)
    assert "no container record" in got.damaged
    assert store.resolve("web").id == rec.id
    with pytest.raises(NameConflictError):
        store.create(record_maker(), "web")
    store.remove_dir(rec.id)  # the name read from the index
    assert store.ids() == [] and store.create(record_maker(), "web").name == "web"
