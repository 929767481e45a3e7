"""``geedocker start [-a] CONTAINER...``"""

from __future__ import annotations

import argparse
import sys


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--attach", action="store_true", help="attach STDOUT/STDERR and forward signals")
    p.add_argument("-i", "--interactive", action="store_true", help="attach the container's STDIN")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers import lifecycle
    from geedocker.errors import GeeDockerError

    layout = layout_of(args)
    if args.attach:
        if len(args.containers) > 1:
            print("Error: you cannot start and attach multiple containers at once", file=sys.stderr)
            return 125
        return lifecycle.start(layout, args.containers[0], attach=True)
    failed = False
    for ref in args.containers:
        try:
            lifecycle.start(layout, ref)
            print(ref)
        except GeeDockerError as e:
            print(f"Error: {e}", file=sys.stderr)
            failed = True
    return 125 if failed else 0
