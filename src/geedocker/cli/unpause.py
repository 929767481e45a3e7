"""``geedocker unpause CONTAINER...``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s CONTAINER [CONTAINER...]"  # docker's usage line
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import each_container, layout_of
    from geedocker.containers import control

    layout = layout_of(args)

    def act(ref: str) -> str:
        control.unpause(layout, ref)
        return ref

    return each_container(args.containers, act)
