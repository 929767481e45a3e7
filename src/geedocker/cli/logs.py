"""``geedocker logs [-f] [--tail N] [-t] [--since T] [--until T] CONTAINER``"""

from __future__ import annotations

import argparse
import sys

from geedocker.containers.engine import Engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from geedocker.containers.logs import LogEntry


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER"  # docker's usage line
    p.add_argument("-f", "--follow", action="store_true", help="follow log output")
    p.add_argument("-n", "--tail", default="all", help='number of lines to show from the end (default "all")')
    p.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    p.add_argument("--since", default="", help="show logs since a time (RFC 3339, Unix time, or a duration: 10m)")
    p.add_argument("--until", default="", help="show logs before a time (RFC 3339, Unix time, or a duration)")
    p.add_argument("container", metavar="CONTAINER")


def _window(since: str, until: str) -> tuple[float | None, float | None]:
    """docker's --since and --until as epoch seconds (None: no bound); a bad one is the daemon's error."""
    from geedocker.errors import DaemonError
    from geedocker.timefmt import parse_timestamp

    out: list[float | None] = []
    for name, text in (("since", since), ("until", until)):
        try:
            out.append(parse_timestamp(text) if text else None)
        except ValueError as e:
            raise DaemonError(f'invalid value for "{name}": {e}') from e
    return out[0], out[1]


def _within(entries: Iterable[LogEntry], since: float | None, until: float | None) -> Iterator[LogEntry]:
    from geedocker.timefmt import rfc3339_epoch

    for e in entries:
        t = rfc3339_epoch(e.time)
        if t is not None and ((since is not None and t < since) or (until is not None and t > until)):
            continue
        yield e


def run(args: argparse.Namespace) -> int:
    import os

    from geedocker.cli.common import layout_of
    from geedocker.containers import logs
    from geedocker.containers.record import Status
    from geedocker.containers.refresh import refresh
    from geedocker.errors import GeeDockerError, UsageError

    layout = layout_of(args)
    store = Engine.of(layout).containers
    rec = store.resolve(args.container)
    if rec.options.log_driver == "none":
        from geedocker.errors import DaemonError

        raise DaemonError("configured logging driver does not support reading")
    since, until = _window(args.since, args.until)
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
    entries = logs.read_entries(path, tail)
    if since is not None or until is not None:
        entries = list(_within(entries, since, until))
    logs.write_entries(entries, out, err, args.timestamps) if tail != 0 else None
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
            followed = logs.follow_entries(path, start, done)
            if since is not None or until is not None:
                followed = _within(followed, since, until)
            logs.write_entries(followed, out, err, args.timestamps)
        except KeyboardInterrupt:
            return 0
    sys.stdout.flush()
    return 0
