"""``geedocker top CONTAINER [ps OPTIONS]``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s CONTAINER [ps OPTIONS]"  # docker's usage line
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="ps OPTIONS")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of, table
    from geedocker.containers import control

    titles, rows = control.top(layout_of(args), args.container, args.ps_args)
    print(table([titles, *rows]))
    return 0
