"""``geedocker port CONTAINER [PRIVATE_PORT[/PROTO]]``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s CONTAINER [PRIVATE_PORT[/PROTO]]"  # docker's usage line
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("private", nargs="?", default="", metavar="PRIVATE_PORT[/PROTO]")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers import control

    for line in control.port_lines(layout_of(args), args.container, args.private):
        print(line)
    return 0
