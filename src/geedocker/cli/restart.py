"""``geedocker restart [-t SECONDS] CONTAINER...``: stop (signal, then SIGKILL after the timeout), start."""

from __future__ import annotations

import argparse
import sys


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("-t", "--time", "--timeout", type=int, default=None, dest="time",
                   help="seconds to wait before killing the container (default: its stop timeout, 10)")  # fmt: skip
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers import lifecycle
    from geedocker.errors import GeeDockerError

    layout = layout_of(args)
    code = 0
    for ref in args.containers:
        try:
            lifecycle.stop(layout, ref, args.time)
            lifecycle.start(layout, ref)
            print(ref)
        except GeeDockerError as e:
            print(f"Error: {e}", file=sys.stderr)
            code = e.exit_code
    return code
