"""``geedocker ps [-a] [-q] [-l] [-n N] [-s] [--no-trunc] [--filter K=V]... [--format json|TEMPLATE]``"""

from __future__ import annotations

import argparse
import sys

from geedocker.containers.engine import Engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.containers.record import ContainerRecord
    from geedocker.store.layout import Layout


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS]"  # docker's usage line
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default shows just running)")
    p.add_argument("-q", "--quiet", action="store_true", help="only display container IDs")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("--format", default="", help='"table", "json" or a Go template such as "{{.ID}} {{.Names}}"')
    p.add_argument("-f", "--filter", action="filter", default=[], help="filter output based on conditions")
    p.add_argument("-l", "--latest", action="store_true", help="show the latest created container (all states)")
    p.add_argument("-n", "--last", type=int, default=-1, help="show n last created containers (all states)")
    p.add_argument("-s", "--size", action="store_true", help="display total file sizes")


def _size(layout: object, rec: object) -> str:
    """docker's SIZE: the container's writable layer, and "virtual" with the image's layers, in docker's units."""
    from geedocker.cli.common import human_size
    from geedocker.containers.record import ContainerRecord
    from geedocker.store.layout import Layout
    from geedocker.trees import content_size

    assert isinstance(layout, Layout) and isinstance(rec, ContainerRecord)
    rw = content_size(str(Engine.of(layout).containers.dir(rec.id) / "upper"))
    virtual = rw + sum(content_size(d) for d in rec.lower_dirs)
    return f"{human_size(rw)} (virtual {human_size(virtual)})" if virtual else human_size(rw)


def run(args: argparse.Namespace) -> int:
    import time

    from geedocker.cli.common import layout_of
    from geedocker.containers import ps
    from geedocker.containers.filters import filter_records
    from geedocker.containers.refresh import refresh

    if args.format:  # docker 28 checks the template on an empty row first, with or without containers
        from geedocker.format import docker

        docker.check(args.format, ps.PsRow("", "", "", "", "", "", "", "", "", ""))
    layout = layout_of(args)
    records = [refresh(layout, r) for r in Engine.of(layout).containers.list()]
    records.sort(key=lambda r: r.created, reverse=True)
    last = 1 if args.latest else args.last
    records = filter_records(layout, records, args.filter, all_=args.all or last > 0)
    if last > 0:
        records = records[:last]
    fmt = args.format
    if args.quiet and (not fmt or fmt == "table" or fmt.startswith("table ")) and fmt != "json":
        fmt = "{{.ID}}"
    now = time.time()
    if args.quiet and fmt == "{{.ID}}":
        for r in records:
            print(r.id if args.no_trunc else r.short_id)
        return 0
    from geedocker import network

    size = args.size or ".Size" in fmt
    store = Engine.of(layout).containers
    # as docker, a stopped container shows no ports (and so costs no read of its network state)
    rows = [ps.row(r, now, trunc=not args.no_trunc,
                   ports=network.ports_text(layout, r.id) if r.state.status.value in ("running", "paused") else "",
                   size=_size(layout, r) if size else "0B", paused=store.is_paused(r),
                   health=_health(layout, r)) for r in records]
    if fmt and fmt != "table":
        sys.stdout.write(ps.format_template(rows, fmt))
        return 0
    print(ps.format_table(rows, size=args.size))
    return 0


def _health(layout: Layout, rec: ContainerRecord) -> str:
    """The healthcheck's status of a running container that has one ("" otherwise)."""
    if not rec.image_config.get("Healthcheck"):
        return ""
    from geedocker.containers import health

    if health.config(rec) is None:
        return ""
    return str((health.load(layout, rec.id) or {}).get("Status", "starting"))
