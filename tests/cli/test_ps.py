"""``ps -a``, ``inspect``, ``rm -f`` and ``container prune`` on containers whose record is damaged (truncated by a
crash, garbage, or missing): the container is shown, by id and name, as dead, and removed with its name
(unprivileged: records made through the store, nothing runs)."""

from __future__ import annotations

import json

import pytest

from geedocker.containers.record import ContainerRecord
from geedocker.containers.spec import RunOptions
from geedocker.containers.store import ContainerStore
from geedocker.oci import ContainerConfig
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339
from tests.cli.test_bad_inputs import cli


def _container(layout: Layout, name: str) -> ContainerRecord:
    def make(cid: str, n: str) -> ContainerRecord:
        return ContainerRecord(
            id=cid, name=n, image="busybox:1", image_id="", created=now_rfc3339(), args=("sh",),
            options=RunOptions(name=n), image_config=ContainerConfig(cmd=("sh",)), lower_dirs=(),
        )  # fmt: skip

    return ContainerStore(layout).create(make, name)


@pytest.mark.parametrize("damage", [b"", b"{not json", b"[]", b"null", "truncated", "missing"])
def test_a_damaged_record_is_shown_dead_and_removed_by_name(layout: Layout, damage: bytes | str) -> None:
    good = _container(layout, "good")
    bad = _container(layout, "bad")
    path = ContainerStore(layout).record_path(bad.id)
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:120] if damage == "truncated" else damage)  # type: ignore[arg-type]
    ContainerStore(layout).index.discard()  # as after the reboot that a power cut brings
    ps = cli(layout, "ps", "-a", "--format", "{{.ID}} {{.Names}} {{.State}} {{.Status}}")
    assert ps.returncode == 0 and "Traceback" not in ps.stderr, ps.stderr
    assert sorted(ps.stdout.splitlines()) == sorted([f"{good.short_id} good created Created",
                                                     f"{bad.short_id} bad dead Dead"])  # fmt: skip
    assert cli(layout, "ps", "-aq", "--filter", "status=dead").stdout.split() == [bad.short_id]
    table = cli(layout, "ps", "-a").stdout
    assert "Dead" in table and " bad\n" in table
    got = cli(layout, "inspect", "bad")
    assert got.returncode == 0, got.stderr
    (doc,) = json.loads(got.stdout)
    assert (doc["Id"], doc["Name"], doc["State"]["Status"], doc["State"]["Dead"]) == (bad.id, "/bad", "dead", True)
    assert str(path) in doc["State"]["Error"]
    start = cli(layout, "start", "bad")
    assert start.returncode == 1 and start.stderr.splitlines() == [
        "Error response from daemon: container is marked for removal and cannot be started",
        "Error: failed to start containers: bad"], start.stderr  # docker's words for a dead container
    rm = cli(layout, "rm", "-f", "bad")
    assert (rm.returncode, rm.stdout.strip()) == (0, "bad"), rm.stderr
    assert cli(layout, "ps", "-aq").stdout.split() == [good.short_id]
    assert _container(layout, "bad").name == "bad"  # the name is free


def test_rm_f_by_id_and_prune_take_damaged_records(layout: Layout) -> None:
    a = _container(layout, "first")
    b = _container(layout, "second")
    store = ContainerStore(layout)
    store.record_path(a.id).write_bytes(b"\0" * 64)
    store.record_path(b.id).unlink()
    store.index.discard()
    rm = cli(layout, "rm", "-f", a.id)
    assert (rm.returncode, rm.stdout.strip()) == (0, a.id), rm.stderr
    prune = cli(layout, "container", "prune", "-f")
    assert prune.returncode == 0 and b.id in prune.stdout, prune.stderr
    assert store.ids() == [] and list((layout.containers / ".names").iterdir()) == []
