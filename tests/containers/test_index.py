"""The container index: listings read one file, which stays equal to the records under concurrent writers, and is
made again from the records when a writer crashed, the machine rebooted, the file is damaged or a container
directory changed behind its back (no root needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from geedocker.containers import index as index_module
from geedocker.containers.options import RunOptions
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import ContainerStore
from geedocker.oci import ContainerConfig
from geedocker.store.fsutil import atomic_write, remove_tree
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _make(cid: str, name: str) -> ContainerRecord:
    return ContainerRecord(id=cid, name=name, image="busybox", image_id="", created=now_rfc3339(), args=("sh",),
                           options=RunOptions(name=name), image_config=ContainerConfig(cmd=("sh",)), lower_dirs=())


def _from_records(store: ContainerStore) -> list[ContainerRecord]:
    """The list as the records on disk have it, without the index."""
    return [store.load(cid) for cid in store.ids()]


class _Reads:
    """Counts the records ``load`` reads (a listing from the index reads none)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = ContainerStore.load

        def counting(store: ContainerStore, cid: str) -> ContainerRecord:
            self.count += 1
            return real(store, cid)

        monkeypatch.setattr(ContainerStore, "load", counting)


def test_a_listing_reads_the_index_alone(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ContainerStore(layout)
    recs = [store.create(_make, f"c{i}") for i in range(5)]
    store.update_state(recs[1].id, status=Status.EXITED, exit_code=3)
    store.remove_dir(recs[4].id)
    reads = _Reads(monkeypatch)
    listed = store.list()
    assert reads.count == 0
    assert listed == sorted(_from_records(store), key=lambda r: r.id)
    assert {r.name for r in listed} == {"c0", "c1", "c2", "c3"}
    assert next(r for r in listed if r.name == "c1").state.exit_code == 3
    assert not store.index.mark.exists()


def test_the_index_is_made_from_the_records_of_a_store_that_had_none(layout: Layout) -> None:
    store = ContainerStore(layout)
    recs = [store.create(_make, f"c{i}") for i in range(3)]
    remove_tree(store.index.dir)  # a store from before the index
    store.update_state(recs[0].id, status=Status.EXITED)  # a writer without an index keeps none
    assert not store.index.file.exists()
    assert store.list() == _from_records(store)
    assert store.index.file.exists()


def test_a_writer_that_dies_between_record_and_index_leaves_a_mark_and_the_next_reader_rebuilds(
        layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ContainerStore(layout)
    rec = store.create(_make, "c")
    store.list()
    changed = rec.to_json() | {"state": {**rec.to_json()["state"], "status": "exited", "exit_code": 7}}
    pid = os.fork()
    if pid == 0:  # the writer: the record is written, then the process is killed before the index
        with store.index.writing(rec.id):
            atomic_write(store.record_path(rec.id), json.dumps(changed).encode(), 0o600, durable=False)
            os.kill(os.getpid(), 9)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    assert store.index.mark.exists()
    reads = _Reads(monkeypatch)
    assert [r.state.exit_code for r in store.list()] == [7]
    assert reads.count == 1  # made again from the one record
    assert not store.index.mark.exists()
    assert [r.state.exit_code for r in store.list()] == [7] and reads.count == 1  # and trusted again


def test_a_failed_change_leaves_the_mark(layout: Layout) -> None:
    store = ContainerStore(layout)
    rec = store.create(_make, "c")
    store.list()
    with pytest.raises(RuntimeError), store.index.writing(rec.id):
        raise RuntimeError("the record's write failed")
    assert store.index.mark.exists()
    assert store.list() == _from_records(store)
    assert not store.index.mark.exists()


@pytest.mark.parametrize("damage", ["garbage", "cut short", "another boot", "a bad line", "a bad record line"])
def test_a_damaged_or_old_index_is_made_again(layout: Layout, damage: str) -> None:
    store = ContainerStore(layout)
    recs = [store.create(_make, f"c{i}") for i in range(3)]
    store.list()
    data = store.index.file.read_bytes()
    header, _, body = data.partition(b"\n")
    damaged = {
        "garbage": b"\x00" * 100,
        "cut short": data[:-10],
        "another boot": header.replace(index_module._boot_id(), b"0" * 36) + b"\n" + body,
        "a bad line": header + b"\n" + b"x y\n" + body,
        "a bad record line": header + b"\n" + recs[0].id.encode() + b" {\"id\": 1}\n" + body,
    }[damage]
    store.index.file.write_bytes(damaged)
    assert store.list() == _from_records(store)
    assert len(store.list()) == 3


def test_a_container_directory_removed_by_hand_is_noticed(layout: Layout) -> None:
    store = ContainerStore(layout)
    recs = [store.create(_make, f"c{i}") for i in range(3)]
    store.list()
    remove_tree(store.dir(recs[0].id))  # not through the store
    assert {r.name for r in store.list()} == {"c1", "c2"}


def test_removal_keeps_the_index_trusted(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ContainerStore(layout)
    recs = [store.create(_make, f"c{i}") for i in range(3)]
    store.remove_dir(recs[0].id)
    reads = _Reads(monkeypatch)
    assert [r.id for r in store.list()] == sorted(r.id for r in recs[1:])
    assert reads.count == 0


def test_without_a_lock_the_records_are_read(layout: Layout) -> None:
    store = ContainerStore(layout)
    store.create(_make, "c")
    store.index.lock_file.unlink()
    store.index.lock_file.mkdir()  # cannot be opened as a lock file
    assert store.list() == _from_records(store) and len(store.list()) == 1
    store.create(_make, "d")
    assert {r.name for r in store.list()} == {"c", "d"}


_WRITER = """
import sys
sys.path.insert(0, {src!r})
from geedocker.containers.options import RunOptions
from geedocker.containers.store import ContainerRecord, ContainerStore, Status
from geedocker.oci import ContainerConfig
from geedocker.store.layout import Layout

def make(cid, name):
    return ContainerRecord(id=cid, name=name, image="busybox", image_id="", created="2024-01-01T00:00:00Z",
                           args=("sh",), options=RunOptions(name=name), image_config=ContainerConfig(),
                           lower_dirs=())

from pathlib import Path
store = ContainerStore(Layout(Path({root!r}), Path({run!r})))
for i in range(8):
    rec = store.create(make, f"w{{sys.argv[1]}}-{{i}}")
    store.update_state(rec.id, status=Status.RUNNING, pid=i)
    store.list()
    if i % 3 == 0:
        store.remove_dir(rec.id)
    else:
        store.update_state(rec.id, status=Status.EXITED, exit_code=i)
"""


def test_concurrent_writers_and_readers_keep_it_equal_to_the_records(layout: Layout) -> None:
    store = ContainerStore(layout)
    store.list()
    code = _WRITER.format(src=SRC, root=str(layout.root), run=str(layout.run))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(n)]) for n in range(6)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    assert not store.index.mark.exists()
    listed = store.list()
    assert listed == _from_records(store)
    assert len(listed) == 6 * 5
    assert all(r.state.status == Status.EXITED for r in listed)


def test_writers_append_and_compact_now_and_then(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change appends its line (no rewrite of the whole file on every start and exit); the file is written anew,
    each container's last line alone, once it has grown past twice its compacted size and the slack."""
    monkeypatch.setattr(index_module, "COMPACT_SLACK", 16 * 1024)
    store = ContainerStore(layout)
    recs = [store.create(_make, f"c{i}") for i in range(3)]
    store.list()
    inode = store.index.file.stat().st_ino
    store.update_state(recs[0].id, status=Status.EXITED, exit_code=1)
    assert store.index.file.stat().st_ino == inode  # appended, not replaced
    sizes = []
    for i in range(200):
        store.update_state(recs[i % 3].id, exit_code=i)
        sizes.append(store.index.file.stat().st_size)
    # compacted: the file shrank now and then (its inode is no proof: a freed inode number comes back)
    assert max(sizes) < 2 * 3 * 1024 + 16 * 1024 + 4096 and any(b < a for a, b in zip(sizes, sizes[1:], strict=False))
    assert store.list() == _from_records(store)
    assert [r.state.exit_code for r in store.list()] == [store.load(r.id).state.exit_code for r in store.list()]
