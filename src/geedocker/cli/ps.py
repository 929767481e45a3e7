"""``geedocker ps [-a] [-q] [--no-trunc] [--format json|TEMPLATE]``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default shows just running)")
    p.add_argument("-q", "--quiet", action="store_true", help="only display container IDs")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("--format", default="", help='"json" or a Go template such as "{{.ID}} {{.Names}}"')
    p.add_argument("-f", "--filter", action="append", default=[], help="filter (name=, id=, status=, label=)")


def _matches(rec: object, filters: list[str]) -> bool:
    from geedocker.containers.store import ContainerRecord
    from geedocker.errors import UsageError

    assert isinstance(rec, ContainerRecord)
    for f in filters:
        key, eq, value = f.partition("=")
        if not eq:
            raise UsageError(f"bad format of filter (expected name=value): {f}")
        if key == "name" and value not in rec.name:
            return False
        if key == "id" and not rec.id.startswith(value):
            return False
        if key == "status" and rec.state.status.value != value:
            return False
        if key == "label":
            k, has, v = value.partition("=")
            labels = dict(rec.options.labels)
            if k not in labels or (has and labels[k] != v):
                return False
        if key not in ("name", "id", "status", "label"):
            raise UsageError(f"invalid filter '{key}'")
    return True


def run(args: argparse.Namespace) -> int:
    import time

    from geedocker.cli.common import layout_of
    from geedocker.containers import ps
    from geedocker.containers.lifecycle import refresh
    from geedocker.containers.store import ContainerStore, Status

    layout = layout_of(args)
    records = [refresh(layout, r) for r in ContainerStore(layout).list()]
    if not args.all and not any(f.startswith("status=") for f in args.filter):
        records = [r for r in records if r.state.status == Status.RUNNING]
    records = [r for r in records if _matches(r, args.filter)]
    records.sort(key=lambda r: r.created, reverse=True)
    now = time.time()
    if args.quiet:
        for r in records:
            print(r.id if args.no_trunc else r.short_id)
        return 0
    from geedocker import network

    rows = [ps.row(r, now, trunc=not args.no_trunc, ports=network.ports_text(layout, r.id)) for r in records]
    if args.format:
        text = ps.format_template(rows, args.format)
        if text:
            print(text)
        return 0
    print(ps.format_table(rows))
    return 0
