"""``geedocker rename CONTAINER NEW_NAME``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("new_name", metavar="NEW_NAME")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers import control

    control.rename(layout_of(args), args.container, args.new_name)
    return 0
