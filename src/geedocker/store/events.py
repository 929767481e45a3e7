"""The event journal: what ``events`` shows, written by every geedocker process as it acts.

    $RUN/events/journal.jsonl     one JSON object a line, in docker's event shape, appended

Each event is one ``write`` on an ``O_APPEND`` file, under PIPE_BUF, so lines from concurrent processes never
interleave; no lock is taken on the container start path. The journal lives under $RUN (shared by every store on
the host, gone at reboot, as dockerd's in-memory log is). When it passes ``MAX_BYTES`` the writer that notices
renames it to ``journal.1`` (the previous one is dropped): readers read both.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from geedocker.store.layout import Layout

MAX_BYTES = 4 << 20
MAX_LINE = 4000  # under PIPE_BUF (4096): one write is atomic against other appenders


def journal(layout: Layout) -> Path:
    return layout.run / "events" / "journal.jsonl"


def emit(layout: Layout, type_: str, action: str, actor_id: str, attributes: Mapping[str, str] | None = None) -> None:
    """Append one event; never fails the operation it reports (a full or read-only $RUN loses the event)."""
    ns = time.time_ns()
    ev: dict[str, object] = {}
    attrs = {k: str(v) for k, v in (attributes or {}).items()}
    if type_ in ("container", "image"):  # docker keeps its old fields (status, id, from) for these two types
        ev["status"] = action
        if actor_id:  # a prune has no actor: docker leaves the field out
            ev["id"] = actor_id
        if type_ == "container" and "image" in attrs:
            ev["from"] = attrs["image"]
    ev.update(Type=type_, Action=action, Actor={"ID": actor_id, "Attributes": attrs}, scope="local",
              time=ns // 1_000_000_000, timeNano=ns)  # fmt: skip
    line = (json.dumps(ev, separators=(",", ":")) + "\n").encode()
    if len(line) > MAX_LINE:  # long label values: keep the event, drop what makes it long
        ev["Actor"] = {"ID": actor_id, "Attributes": {k: v for k, v in attrs.items() if len(v) < 200}}
        line = (json.dumps(ev, separators=(",", ":")) + "\n").encode()[:MAX_LINE]
    path = journal(layout)
    try:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line)
            if os.fstat(fd).st_size > MAX_BYTES:
                os.replace(path, path.with_name("journal.1.jsonl"))
        finally:
            os.close(fd)
    except OSError:
        pass


def read(layout: Layout, since_ns: int = 0) -> Iterator[dict[str, object]]:
    """The events from ``since_ns`` on, oldest first (the rotated journal first)."""
    path = journal(layout)
    for p in (path.with_name("journal.1.jsonl"), path):
        try:
            with open(p, "rb") as f:
                for raw in f:
                    ev = _parse(raw)
                    t = ev.get("timeNano", 0) if ev is not None else 0
                    if ev is not None and isinstance(t, int) and t >= since_ns:
                        yield ev
        except OSError:
            continue


def follow(layout: Layout, poll: float = 0.1) -> Iterator[dict[str, object] | None]:
    """New events as they are appended (``None`` when there is none yet, so the caller can check its deadline)."""
    path = journal(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    f = None
    ino = None
    first = True  # only a journal that exists when following starts is skipped to its end
    try:
        while True:
            if f is None:
                try:
                    f = open(path, "rb")  # noqa: SIM115 - held across the loop
                    if first:
                        f.seek(0, os.SEEK_END)
                    ino = os.fstat(f.fileno()).st_ino
                except FileNotFoundError:
                    first = False
                    yield None
                    time.sleep(poll)
                    continue
                first = False
            raw = f.readline()
            if raw.endswith(b"\n"):
                ev = _parse(raw)
                if ev is not None:
                    yield ev
                continue
            if raw:
                f.seek(-len(raw), os.SEEK_CUR)  # a line being written: read it whole next time
            try:
                if os.stat(path).st_ino != ino:  # rotated: go on in the new journal from its start
                    f.close()
                    f = None
                    continue
            except FileNotFoundError:
                pass
            yield None
            time.sleep(poll)
    finally:
        if f is not None:
            f.close()


def _parse(raw: bytes) -> dict[str, object] | None:
    try:
        ev = json.loads(raw)
    except ValueError:
        return None
    return ev if isinstance(ev, dict) else None
