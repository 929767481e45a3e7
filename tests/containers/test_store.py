"""The container store: records, names, lookup, atomic updates (no root needed)."""

from __future__ import annotations

import json
import os
import threading

import pytest

from geedocker.containers import names
from geedocker.containers.record import Status, is_alive
from geedocker.containers.store import ContainerStore
from geedocker.errors import ContainerError, ContainerNotFound, NameConflictError, StoreError
from geedocker.procs import start_time as process_start_time
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339, parse_rfc3339
from tests.containers.conftest import record_maker


def test_create_load_round_trip(layout: Layout) -> None:
    store = ContainerStore(layout)
    rec = store.create(record_maker(), "web")
    assert len(rec.id) == 64 and all(c in "0123456789abcdef" for c in rec.id)
    assert store.load(rec.id) == rec
    assert store.record_path(rec.id).exists()
    assert json.loads(store.record_path(rec.id).read_text())["name"] == "web"
    assert oct(store.dir(rec.id).stat().st_mode & 0o777) == "0o700"


def test_generated_names_are_docker_style_and_unique(layout: Layout) -> None:
    store = ContainerStore(layout)
    recs = [store.create(record_maker()) for _ in range(30)]
    got = [r.name for r in recs]
    assert len(set(got)) == 30
    for n in got:
        adj, _, surname = n.partition("_")
        assert adj in names.ADJECTIVES
        assert surname.rstrip("0123456789") in names.SURNAMES


def test_name_conflict(layout: Layout) -> None:
    store = ContainerStore(layout)
    first = store.create(record_maker(), "web")
    with pytest.raises(NameConflictError, match=first.id):
        store.create(record_maker(), "web")
    assert len(store.ids()) == 1


def test_concurrent_creates_with_one_name_make_one_container(layout: Layout) -> None:
    store = ContainerStore(layout)
    errors: list[Exception] = []

    def go() -> None:
        try:
            store.create(record_maker(), "same")
        except NameConflictError as e:
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.ids()) == 1 and len(errors) == 7


def test_resolve_by_id_name_and_prefix(layout: Layout) -> None:
    store = ContainerStore(layout)
    a = store.create(record_maker(), "alpha")
    b = store.create(record_maker(), "beta")
    assert store.resolve(a.id).id == a.id
    assert store.resolve("alpha").id == a.id
    assert store.resolve("/beta").id == b.id
    # the shortest prefix that tells them apart
    n = next(i for i in range(1, 64) if a.id[:i] != b.id[:i])
    assert store.resolve(a.id[:n]).id == a.id
    assert store.resolve(b.id[:12]).id == b.id
    with pytest.raises(ContainerNotFound, match="No such container: gamma"):
        store.resolve("gamma")
    with pytest.raises(ContainerNotFound):
        store.resolve("")


def test_ambiguous_prefix(layout: Layout) -> None:
    store = ContainerStore(layout)
    recs = [store.create(record_maker()) for _ in range(40)]
    first = {r.id[0] for r in recs}
    shared = next(c for c in first if sum(r.id[0] == c for r in recs) > 1)
    with pytest.raises(ContainerError, match="multiple IDs"):
        store.resolve(shared)


def test_a_name_beats_an_id_prefix(layout: Layout) -> None:
    store = ContainerStore(layout)
    a = store.create(record_maker())
    b = store.create(record_maker(), a.id[:6])
    assert store.resolve(a.id[:6]).id == b.id


def test_update_state_is_atomic_and_keeps_other_fields(layout: Layout) -> None:
    store = ContainerStore(layout)
    rec = store.create(record_maker(), "x")
    new = store.update_state(rec.id, status=Status.EXITED, exit_code=3, finished_at=now_rfc3339())
    assert new.state.status == Status.EXITED and new.state.exit_code == 3
    assert store.load(rec.id) == new
    assert new.name == "x" and new.args == ("sh",)
    leftovers = [p for p in os.listdir(store.dir(rec.id)) if p.startswith(".container.json")]
    assert leftovers == []


def test_a_corrupt_record_is_a_clear_error_and_its_container_stays_listed(layout: Layout) -> None:
    store = ContainerStore(layout)
    rec = store.create(record_maker(), "x")
    store.record_path(rec.id).write_text("{not json")
    with pytest.raises(StoreError, match="corrupt container record"):
        store.load(rec.id)
    assert [r.id for r in store.list()] == [rec.id]  # the index keeps the copy written with the record
    store.index.discard()  # as after the reboot that a power cut brings
    (got,) = store.list()  # made again from the records: the corrupt one as its damaged stand-in
    assert got.id == rec.id and got.name == "x"  # the name from the index
    assert got.damaged and "corrupt container record" in got.damaged
    assert got.state.status == Status.DEAD and got.state.error == got.damaged
    assert store.list() == [got]  # the index keeps the stand-in too


def test_remove_dir(layout: Layout) -> None:
    store = ContainerStore(layout)
    rec = store.create(record_maker(), "x")
    store.remove_dir(rec.id)
    assert not store.dir(rec.id).exists()
    with pytest.raises(ContainerNotFound):
        store.resolve("x")


def test_liveness_uses_the_start_time() -> None:
    me = os.getpid()
    start = process_start_time(me)
    assert start > 0
    assert is_alive(me, start)
    assert not is_alive(me, start + 1)  # same pid, another process: a reused pid
    assert not is_alive(0, start)


def test_rfc3339_round_trip() -> None:
    t = parse_rfc3339(now_rfc3339())
    assert t is not None and t.tzinfo is not None
    assert parse_rfc3339("") is None and parse_rfc3339("garbage") is None
    assert parse_rfc3339("2024-01-02T03:04:05+00:00") is not None


def test_a_new_container_reads_no_other_record(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    """Names are reserved in an index: creating the 21st container costs what the first did."""
    store = ContainerStore(layout)
    for i in range(20):
        store.create(record_maker(), f"c{i}")
    loads: list[str] = []
    real_load = ContainerStore.load
    monkeypatch.setattr(ContainerStore, "load", lambda self, cid: loads.append(cid) or real_load(self, cid))
    store.create(record_maker(), "new")
    store.create(record_maker(), "")  # a generated name
    with pytest.raises(NameConflictError, match='"/c7" is already in use'):
        store.create(record_maker(), "c7")
    assert loads == []


def test_removing_a_container_frees_its_name(layout: Layout) -> None:
    store = ContainerStore(layout)
    a = store.create(record_maker(), "web")
    store.remove_dir(a.id)
    b = store.create(record_maker(), "web")
    assert b.id != a.id
    assert store.resolve("web") == b


# ---------------------------------------------------------------- durability


def _fsynced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths that ``os.fsync`` is called on from now on (files by their name when the call is made)."""
    import geedocker.store.fsutil as fsutil

    seen: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(fsutil.os, "fsync", fsync)
    return seen


def test_a_record_is_fsynced_before_and_after_its_rename(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ContainerStore(layout)
    seen = _fsynced(monkeypatch)
    rec = store.create(record_maker(), "web")
    creating = str(layout.containers / f".creating-{rec.id}")
    names_dir = str(layout.containers / ".names")
    assert any(p.startswith(f"{names_dir}/.web.") for p in seen)  # the name entry's temp file
    assert names_dir in seen  # and its rename
    assert any(p.startswith(f"{creating}/.container.json.") for p in seen)  # the record, in the new dir
    assert creating in seen  # the record's rename into it
    assert seen[-1] == str(layout.containers)  # the new dir's rename to its id
    seen.clear()
    store.update_state(rec.id, status=Status.EXITED, exit_code=3)
    assert [p.rsplit("/", 1)[0] for p in seen] == [str(store.dir(rec.id)), str(layout.containers)]
    assert seen[0].startswith(str(store.dir(rec.id) / ".container.json."))
    assert sorted(set(os.listdir(layout.containers)) - {".index"}) == [".names", rec.id]  # no temp dir or file left


def test_interrupted_creates_and_removals_are_invisible_and_swept(layout: Layout) -> None:
    store = ContainerStore(layout)
    kept = store.create(record_maker(), "kept")
    creating = layout.containers / (".creating-" + "a" * 64)
    removing = layout.containers / (".removing-" + "b" * 64)
    for d in (creating, removing):
        (d / "rootfs").mkdir(parents=True)
        (d / "container.json").write_text("{}")
    busy = layout.containers / (".removing-" + "c" * 64)  # a removal under way: its dir is locked
    busy.mkdir()
    (layout.containers / ".names" / "lost").write_text("d" * 64)  # its container is gone
    assert store.ids() == [kept.id] and [r.id for r in store.list()] == [kept.id]
    from geedocker.store.fsutil import dir_lock

    with dir_lock(busy):
        assert store.leftover_dirs() == [creating, removing]
    assert store.names.stale() == ["lost"]
    assert store.names.release_stale() == ["lost"]
    assert sorted(os.listdir(layout.containers / ".names")) == ["kept"]
    assert store.resolve("kept") == kept


def test_removal_goes_through_a_rename(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dir leaves its place whole (so it never shows without its record), then goes."""
    store = ContainerStore(layout)
    rec = store.create(record_maker(), "web")
    renames: list[tuple[str, str]] = []
    real = os.rename
    monkeypatch.setattr(os, "rename", lambda a, b: renames.append((str(a), str(b))) or real(a, b))
    store.remove_dir(rec.id)
    assert renames == [(str(store.dir(rec.id)), str(layout.containers / f".removing-{rec.id}"))]
    assert set(os.listdir(layout.containers)) - {".index"} == {".names"}
    store.remove_dir(rec.id, "web")  # gone already (its monitor and rm -f may both remove it): no error
