"""``/containers/{id}/logs``: a container's log, framed as docker's streams (or raw for a tty), followed while
it runs; ``log_entries`` also gives an attaching client the log it asks for."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from geedocker.api import streams
from geedocker.api.container_lookup import current, record, store_of
from geedocker.api.errors import ApiError
from geedocker.api.messages import Request, Response
from geedocker.containers.record import ContainerRecord, Status


def log_entries(req: Request, rec: ContainerRecord, *, tail: int | None, follow: bool,
                 since: float, until: float) -> Iterator[Any]:  # fmt: skip
    from geedocker.containers import logs
    from geedocker.timefmt import parse_rfc3339

    path = store_of(req).log_path(rec.id)
    size = path.stat().st_size if path.exists() else 0

    def in_range(e: Any) -> bool:
        if not since and not until:
            return True
        t = parse_rfc3339(e.time)
        ts = t.timestamp() if t else 0.0
        return ts >= since and (not until or ts <= until)

    if tail != 0:
        yield from (e for e in logs.read_entries(path, tail) if in_range(e))
    if not follow:
        return

    def done() -> bool:
        cur = current(req, rec)
        return cur is None or cur.state.status != Status.RUNNING or (until > 0 and time.time() > until)

    if not path.exists():
        if done():
            return
        path.touch()
    cur = os.stat(path).st_size
    yield from (e for e in logs.follow_entries(path, size if cur >= size else 0, done, poll=0.05) if in_range(e))


def _since(text: str) -> float:
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise ApiError(400, f"invalid time {text!r}: a Unix timestamp was expected") from None


def logs(req: Request) -> Response:
    rec = record(req)
    want = {1} if req.flag("stdout") else set()
    if req.flag("stderr"):
        want.add(2)
    if not want:
        raise ApiError(400, "Bad parameters: you must choose at least one stream")
    tail_text = req.arg("tail", "all")
    tail: int | None = None
    if tail_text != "all":
        try:
            tail = max(int(tail_text), 0) if int(tail_text) >= 0 else None
        except ValueError:
            raise ApiError(400, f"invalid tail {tail_text!r}") from None
    entries = log_entries(req, rec, tail=tail, follow=req.flag("follow"), since=_since(req.arg("since")),
                           until=_since(req.arg("until")))  # fmt: skip
    stamps = req.flag("timestamps")
    tty = rec.options.tty

    def body() -> Iterator[bytes]:
        for e in entries:
            n = 2 if e.stream == "stderr" else 1
            if n not in want:
                continue
            data = ((e.time + " ") if stamps else "").encode() + e.log.encode("utf-8", "replace")
            yield data if tty else streams.frame(n, data)

    return Response(200, body(), content_type="application/vnd.docker.raw-stream")  # API 1.41's type, framed or not


