"""``geedocker events [--since] [--until] [--filter] [--format]``: the event journal (geedocker.store.events)."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", default="", help="show all events created since timestamp")
    p.add_argument("--until", default="", help="stream events until this timestamp")
    p.add_argument("-f", "--filter", action="append", default=[], help="filter output based on conditions provided")
    p.add_argument("--format", default="", help="format output using a Go template, or json")


def parse_when(text: str, now_ns: int) -> int:
    """docker's timestamps: Unix seconds (with a fraction), RFC 3339 (date or date-time), or a duration before now
    (``10m``, ``1h30m``, ``90s``). Nanoseconds."""
    import re

    from geedocker.errors import UsageError
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


def _actor(ev: Mapping[str, object]) -> tuple[str, dict[str, str]]:
    actor = ev.get("Actor")
    if not isinstance(actor, dict):
        return "", {}
    attrs = actor.get("Attributes")
    return str(actor.get("ID", "")), {str(k): str(v) for k, v in (attrs.items() if isinstance(attrs, dict) else ())}


def _ns(ev: Mapping[str, object]) -> int:
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


def _matches(ev: Mapping[str, object], filters: dict[str, list[str]]) -> bool:
    """docker's event filters (its daemon/events filter): ``type`` exactly; ``event`` exactly (by prefix for
    the actions with a tail); ``container``/``volume``/``network`` by the actor's ID or name, or a prefix of
    either, whatever the event's type; ``image`` by the actor's ID or its image name (``name`` for an image
    event, ``image`` for the others), with or without the tag; ``label`` by the attributes."""
    aid, attrs = _actor(ev)
    typ = str(ev.get("Type", ""))
    action = str(ev.get("Action", ""))
    for key, values in filters.items():
        if key == "type":
            ok = typ in values
        elif key == "event":
            ok = action in values or (any(v in _PREFIX_EVENTS for v in values) and _fuzzy(values, action))
        elif key in ("container", "volume", "network"):
            ok = _fuzzy(values, aid, attrs.get("name", ""))
        elif key == "image":
            name = attrs.get("name" if typ == "image" else "image", "")
            ok = any(c in values for c in {aid, name, _strip_tag(aid), _strip_tag(name)} if c)
        elif key == "label":
            ok = any((k in attrs and (not eq or attrs[k] == v)) for k, eq, v in (f.partition("=") for f in values))
        else:
            ok = False
        if not ok:
            return False
    return True


def _text(ev: Mapping[str, object]) -> str:
    """docker's default line: ``2026-12-05T10:50:00.123456789Z container start ID (image=..., name=...)``."""
    import time

    ns = _ns(ev)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"
    aid, attrs = _actor(ev)
    tail = ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs))
    return f"{stamp} {ev.get('Type')} {ev.get('Action')} {aid}" + (f" ({tail})" if tail else "")


def run(args: argparse.Namespace) -> int:
    import sys
    import time

    from geedocker.cli.common import layout_of
    from geedocker.errors import UsageError
    from geedocker.store import events

    layout = layout_of(args)
    now = time.time_ns()
    since = parse_when(args.since, now) if args.since else None
    until = parse_when(args.until, now) if args.until else None
    filters: dict[str, list[str]] = {}
    for f in args.filter:
        k, eq, v = f.partition("=")
        if not eq or k not in ("type", "event", "container", "image", "label", "volume", "network"):
            raise UsageError(f"invalid filter '{f}'")
        filters.setdefault(k, []).append(v)
    if args.format:
        from geedocker.format import docker

        tmpl = docker.parse(docker.template_text(args.format))

        def show(ev: Mapping[str, object]) -> str:
            return docker.execute(tmpl, dict(ev))
    else:
        show = _text

    def out(ev: Mapping[str, object]) -> None:
        if _matches(ev, filters):
            sys.stdout.write(show(ev) + "\n")
            sys.stdout.flush()

    stream = events.follow(layout)  # opened before the history is read: nothing falls between the two
    next(stream)  # positions it at the journal's end
    if since is not None:
        for old in events.read(layout, since):
            t = _ns(old)
            if t > now or (until is not None and t > until):
                break
            out(old)
    if until is not None and until <= time.time_ns():
        return 0
    for ev in stream:
        if until is not None and time.time_ns() > until:
            return 0
        if ev is None or _ns(ev) <= now:
            continue
        if until is not None and _ns(ev) > until:
            return 0
        out(ev)
    return 0
