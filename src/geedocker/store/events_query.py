"""Reading the event journal as docker's ``events`` does: times (``--since``/``--until``), filters, and a
watch that gives the history from ``since`` and then the events as they come, until ``until``.

``geedocker events`` and the Engine API's ``/events`` both read through here (``geedocker.store.events``
writes and reads the journal's lines).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Iterator, Mapping

from geedocker.errors import UsageError
from geedocker.store import events
from geedocker.store.layout import Layout

# docker's filter keys that geedocker's events can match
FILTERS = ("type", "event", "container", "image", "label", "volume", "network", "scope")
# and the rest of docker's: daemon, swarm and plugin events, which geedocker has none of (they match nothing)
OTHER_FILTERS = ("daemon", "node", "plugin", "service", "config", "secret")


def parse_when(text: str, now_ns: int) -> int:
    """docker's timestamps: Unix seconds (with a fraction), RFC 3339 (date or date-time), or a duration before now
    (``10m``, ``1h30m``, ``90s``). Nanoseconds."""
    from geedocker.timefmt import parse_rfc3339

    t = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        sec, _, frac = t.partition(".")
        return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", t)
    if parts and "".join(a + b for a, b in parts) == t:
        scale = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
        return now_ns - int(sum(float(a) * scale[b] for a, b in parts))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        t += "T00:00:00Z"
    d = parse_rfc3339(t)
    if d is None:
        raise UsageError(f"invalid timestamp {text!r}: Unix seconds, RFC 3339 or a duration such as 10m")
    return int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1000


def actor(ev: Mapping[str, object]) -> tuple[str, dict[str, str]]:
    """The actor's id and attributes."""
    a = ev.get("Actor")
    if not isinstance(a, dict):
        return "", {}
    attrs = a.get("Attributes")
    return str(a.get("ID", "")), {str(k): str(v) for k, v in (attrs.items() if isinstance(attrs, dict) else ())}


def time_ns(ev: Mapping[str, object]) -> int:
    t = ev.get("timeNano", 0)
    return t if isinstance(t, int) else 0


# docker matches these event filters by prefix: their actions carry a tail ("exec_start: sh -c ...")
_PREFIX_EVENTS = ("health_status", "exec_create", "exec_start")


def _fuzzy(values: list[str], *sources: str) -> bool:
    return any(src and (src == v or src.startswith(v)) for v in values for src in sources)


def _strip_tag(name: str) -> str:
    """An image name without its tag, as docker's filter compares it (``busybox:latest`` -> ``busybox``)."""
    from geedocker import reference as refs
    from geedocker.errors import InvalidReference

    try:
        r = refs.parse(name, default_tag=False)
    except InvalidReference:
        return name
    return refs.Reference(r.domain, r.path).familiar()


def matches(ev: Mapping[str, object], filters: Mapping[str, list[str]]) -> bool:
    """docker's rules (its daemon/events filter): every key must match; within a key, any of its values. ``type``
    exactly; ``event`` exactly (by prefix for the actions with a tail); ``container``/``volume``/``network`` by
    the actor's ID or name, or a prefix of either, whatever the event's type; ``image`` by the actor's ID or its
    image name (``name`` for an image event, ``image`` for the others), with or without the tag; ``label`` by
    the attributes."""
    aid, attrs = actor(ev)
    typ = str(ev.get("Type", ""))
    action = str(ev.get("Action", ""))
    for key, values in filters.items():
        if not values:
            continue
        if key == "type":
            ok = typ in values
        elif key == "event":
            ok = action in values or (any(v in _PREFIX_EVENTS for v in values) and _fuzzy(values, action))
        elif key == "image":
            name = attrs.get("name" if typ == "image" else "image", "")
            ok = any(c in values for c in {aid, name, _strip_tag(aid), _strip_tag(name)} if c)
        elif key in ("container", "volume", "network"):
            ok = _fuzzy(values, aid, attrs.get("name", ""))
        elif key == "scope":
            ok = str(ev.get("scope", "local")) in values
        elif key == "label":
            ok = any((k in attrs and (not eq or attrs[k] == v)) for k, eq, v in (f.partition("=") for f in values))
        else:
            ok = False
        if not ok:
            return False
    return True


def watch(layout: Layout, since_ns: int | None, until_ns: int | None, filters: Mapping[str, list[str]], *,
          stop: Callable[[], bool] = lambda: False) -> Generator[dict[str, object], None, None]:  # fmt: skip
    """The matching events from ``since_ns`` (None: from now) on, then new ones as they are written, until
    ``until_ns`` (None: forever) or until ``stop()`` says so (checked while no event comes).

    "Now" is the moment of this call, not of the first read: a client that has its answer's headers may act at
    once, and what it makes is news."""
    now = time.time_ns()
    stream = events.follow(layout)  # opened before the history is read: nothing falls between the two
    next(stream)  # positions it at the journal's end
    return _watch(layout, stream, now, since_ns, until_ns, filters, stop)


def _watch(layout: Layout, stream: Iterator[dict[str, object] | None], now: int, since_ns: int | None,
           until_ns: int | None, filters: Mapping[str, list[str]],
           stop: Callable[[], bool]) -> Generator[dict[str, object], None, None]:  # fmt: skip
    try:
        if since_ns is not None:
            for old in events.read(layout, since_ns):
                t = time_ns(old)
                if t > now or (until_ns is not None and t > until_ns):
                    break
                if matches(old, filters):
                    yield old
        if until_ns is not None and until_ns <= time.time_ns():
            return
        for ev in stream:
            if until_ns is not None and time.time_ns() > until_ns:
                return
            if ev is None:
                if stop():
                    return
                continue
            if time_ns(ev) <= now:
                continue
            if until_ns is not None and time_ns(ev) > until_ns:
                return
            if matches(ev, filters):
                yield ev
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # the journal's file
