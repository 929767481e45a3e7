"""``geedocker restart [-t SECONDS] CONTAINER...``: stop (signal, then SIGKILL after the timeout), start."""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER [CONTAINER...]"  # docker's usage line
    p.add_argument("-t", "--time", "--timeout", type=int, default=None, dest="time",
                   help="seconds to wait before killing the container (default: its stop timeout, 10)")  # fmt: skip
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import each_container, layout_of
    from geedocker.containers import lifecycle

    layout = layout_of(args)

    def restart(ref: str) -> str:
        lifecycle.stop(layout, ref, args.time)
        lifecycle.start(layout, ref)
        return ref

    return each_container(args.containers, restart)
