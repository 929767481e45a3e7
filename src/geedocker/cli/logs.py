"""``geedocker logs [-f] [--tail N] [-t] CONTAINER``"""

from __future__ import annotations

import argparse
import sys


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--follow", action="store_true", help="follow log output")
    p.add_argument("-n", "--tail", default="all", help='number of lines to show from the end (default "all")')
    p.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    p.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    import os

    from geedocker.cli.common import layout_of
    from geedocker.containers import logs
    from geedocker.containers.lifecycle import refresh
    from geedocker.containers.store import ContainerStore, Status
    from geedocker.errors import GeeDockerError, UsageError

    layout = layout_of(args)
    store = ContainerStore(layout)
    rec = store.resolve(args.container)
    tail: int | None = None
    if args.tail != "all":
        try:
            tail = int(args.tail)
        except ValueError as e:
            raise UsageError(f"invalid --tail {args.tail!r}: a number or \"all\"") from e
        tail = None if tail < 0 else tail
    path = store.log_path(rec.id)
    size = path.stat().st_size if path.exists() else 0
    out, err = logs.stdio()
    logs.write_entries(logs.read_entries(path, tail), out, err, args.timestamps) if tail != 0 else None
    if args.follow and size >= 0:

        def done() -> bool:
            try:
                return refresh(layout, store.load(rec.id)).state.status != Status.RUNNING
            except GeeDockerError:
                return True

        if not path.exists():
            if done():
                return 0
            path.touch()
        # entries written between the read above and now: read from the size we saw
        cur = os.stat(path).st_size
        start = size if cur >= size else 0
        try:
            logs.write_entries(logs.follow_entries(path, start, done), out, err, args.timestamps)
        except KeyboardInterrupt:
            return 0
    sys.stdout.flush()
    return 0
