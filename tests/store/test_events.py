"""The event journal: docker's shape, appends from many writers, following, rotation."""

from __future__ import annotations

import json
import threading

from geedocker.store import events
from geedocker.store.layout import Layout


def test_emit_and_read(layout: Layout) -> None:
    events.emit(layout, "container", "start", "c" * 64, {"image": "bb", "name": "web"})
    events.emit(layout, "volume", "create", "v1", {"driver": "local"})
    c, v = list(events.read(layout))
    assert c["status"] == "start" and c["id"] == "c" * 64 and c["from"] == "bb" and c["Type"] == "container"
    assert c["Actor"] == {"ID": "c" * 64, "Attributes": {"image": "bb", "name": "web"}} and c["scope"] == "local"
    assert isinstance(c["timeNano"], int) and c["time"] == c["timeNano"] // 1_000_000_000
    assert set(v) == {"Type", "Action", "Actor", "scope", "time", "timeNano"}
    assert [e["Action"] for e in events.read(layout, since_ns=v["timeNano"])] == ["create"]  # type: ignore[arg-type]


def test_concurrent_writers_never_interleave(layout: Layout) -> None:
    def write(n: int) -> None:
        for i in range(200):
            events.emit(layout, "container", "exec_start", f"{n}-{i}", {"label": "x" * 500})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = events.journal(layout).read_bytes().splitlines()
    assert len(lines) == 800 and all(json.loads(line)["Action"] == "exec_start" for line in lines)


def test_follow_sees_new_events_and_the_first_journal(layout: Layout) -> None:
    stream = events.follow(layout, poll=0.01)
    assert next(stream) is None  # no journal yet
    events.emit(layout, "container", "create", "a1")
    got = next(e for e in stream if e is not None)
    assert got["Action"] == "create"
    events.emit(layout, "container", "start", "a1")
    assert next(e for e in stream if e is not None)["Action"] == "start"
