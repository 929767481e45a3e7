"""``geedocker stop [-t SECONDS] [-s SIGNAL] CONTAINER...``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER [CONTAINER...]"  # docker's usage line
    p.add_argument("-t", "--time", "--timeout", type=int, default=None, dest="time",
                   help="seconds to wait before killing the container (default: its stop timeout, 10)")  # fmt: skip
    p.add_argument("-s", "--signal", default=None, help="signal to send (default: the container's stop signal)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import each_container, layout_of
    from geedocker.containers import lifecycle
    from geedocker.containers.flags import parse_signal

    layout = layout_of(args)
    sig = parse_signal(args.signal) if args.signal else None

    def stop(ref: str) -> str:
        lifecycle.stop(layout, ref, args.time, sig)
        return ref

    return each_container(args.containers, stop)
