"""``geedocker kill [-s SIGNAL] CONTAINER...``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER [CONTAINER...]"  # docker's usage line
    p.add_argument("-s", "--signal", default="KILL", help="signal to send to the container (default KILL)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import each_container, layout_of
    from geedocker.containers import lifecycle
    from geedocker.containers.flags import parse_signal

    layout = layout_of(args)
    sig = parse_signal(args.signal)

    def kill(ref: str) -> str:
        lifecycle.kill(layout, ref, sig)
        return ref

    return each_container(args.containers, kill)
