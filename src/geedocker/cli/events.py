"""``geedocker events [--since] [--until] [--filter] [--format]``: the event journal (geedocker.store.events)."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS]"  # docker's usage line
    p.add_argument("--since", default="", help="show all events created since timestamp")
    p.add_argument("--until", default="", help="stream events until this timestamp")
    p.add_argument("-f", "--filter", action="append", default=[], help="filter output based on conditions provided")
    p.add_argument("--format", default="", help="format output using a Go template, or json")


def _text(ev: Mapping[str, object]) -> str:
    """docker's default line: ``2026-12-05T10:50:00.123456789Z container start ID (image=..., name=...)``."""
    import time

    from geedocker.store.events_query import actor, time_ns

    ns = time_ns(ev)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"
    aid, attrs = actor(ev)
    tail = ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs))
    return f"{stamp} {ev.get('Type')} {ev.get('Action')} {aid}" + (f" ({tail})" if tail else "")


def run(args: argparse.Namespace) -> int:
    import sys
    import time

    from geedocker.cli.common import layout_of
    from geedocker.errors import UsageError
    from geedocker.store.events_query import FILTERS, parse_when, watch

    layout = layout_of(args)
    now = time.time_ns()
    since = parse_when(args.since, now) if args.since else None
    until = parse_when(args.until, now) if args.until else None
    filters: dict[str, list[str]] = {}
    for f in args.filter:
        k, eq, v = f.partition("=")
        if not eq or k not in FILTERS:
            raise UsageError(f"invalid filter '{f}'")
        filters.setdefault(k, []).append(v)
    if args.format:
        from geedocker.format import docker

        tmpl = docker.parse(docker.template_text(args.format))

        def show(ev: Mapping[str, object]) -> str:
            return docker.execute(tmpl, dict(ev))
    else:
        show = _text

    for ev in watch(layout, since, until, filters):
        sys.stdout.write(show(ev) + "\n")
        sys.stdout.flush()
    return 0
