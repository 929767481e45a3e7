"""``/events``: the event journal streamed as docker's daemon does, over ``geedocker.store.events_query`` (the
same reader as ``geedocker events``).

One JSON object a line, in docker's shape (the journal's lines are written in it): the history from ``since``
(Unix seconds, with a fraction, as docker's clients send it), then events as they come, until ``until``; filters
as docker's (``type``, ``container``, ``image``, ``event``, ``label``, ``volume``, ``network``, ``scope``). The
headers go at once: clients wait for them before they report anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from geedocker.api.filters import filters_arg
from geedocker.api.messages import Request, Response
from geedocker.store.events_query import FILTERS, OTHER_FILTERS, parse_when, watch


def stream(req: Request) -> Response:
    now = time.time_ns()
    since, until = req.arg("since"), req.arg("until")
    since_ns = parse_when(since, now) if since else None
    until_ns = parse_when(until, now) if until else None
    filters = filters_arg(req, (*FILTERS, *OTHER_FILTERS))
    found = watch(req.layout, since_ns, until_ns, filters, stop=req.client_gone)

    def body() -> Iterator[bytes]:
        try:
            for ev in found:
                yield json.dumps(ev).encode() + b"\n"
        finally:
            found.close()

    return Response(200, body())
