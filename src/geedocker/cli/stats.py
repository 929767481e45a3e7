"""``geedocker stats [-a] [--no-stream] [--no-trunc] [--format] [CONTAINER...]``"""

from __future__ import annotations

import argparse

from geedocker.containers.engine import Engine


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] [CONTAINER...]"  # docker's usage line
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default shows just running)")
    p.add_argument("--no-stream", action="store_true", help="disable streaming stats and only pull the first result")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    p.add_argument("--format", default="", help="format output using a Go template, or json")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    import sys
    import time

    from geedocker.cli.common import layout_of
    from geedocker.containers import stats
    from geedocker.containers.record import Status
    from geedocker.containers.refresh import refresh
    from geedocker.errors import GeeDockerError
    from geedocker.format import docker

    layout = layout_of(args)
    store = Engine.of(layout).containers
    recs = [store.resolve(r) for r in args.containers] if args.containers else store.list()
    fmt = args.format or stats.DEFAULT_FORMAT
    before: dict[str, stats.Sample] = {}

    def take() -> list[tuple[object, stats.Sample | None]]:
        out: list[tuple[object, stats.Sample | None]] = []
        for rec in recs:
            cur = refresh(layout, store.load(rec.id)) if store.record_path(rec.id).exists() else rec
            if cur.state.status != Status.RUNNING:
                if args.all or args.containers:
                    out.append((cur, None))
                continue
            try:
                out.append((cur, stats.sample(cur)))
            except (GeeDockerError, OSError):
                out.append((cur, None))
        return out

    first = take()
    for rec, s in first:
        if s is not None:
            before[rec.id] = s  # type: ignore[attr-defined]
    while True:
        time.sleep(1.0)  # docker's CPU % is over the daemon's one-second sampling interval
        rows = []
        for rec, s in take():
            if s is None:
                zero = stats.Sample(0, 0, 1, 0, 0, 0, 0, 0, 0, 0)
                r = stats.row(rec, None, zero, trunc=not args.no_trunc)  # type: ignore[arg-type]
                r.update(CPUPerc="0.00%", MemUsage="0B / 0B", MemPerc="0.00%", NetIO="0B / 0B", BlockIO="0B / 0B",
                         PIDs="0")  # fmt: skip
            else:
                r = stats.row(rec, before.get(rec.id), s, trunc=not args.no_trunc)  # type: ignore[arg-type, attr-defined]
                before[rec.id] = s  # type: ignore[attr-defined]
            rows.append(r)
        text = docker.render(fmt, rows, stats.HEADERS)
        if args.no_stream:
            sys.stdout.write(text)
            return 0
        sys.stdout.write("\x1b[2J\x1b[H" + text if sys.stdout.isatty() else text)
        sys.stdout.flush()
