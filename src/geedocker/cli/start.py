"""``geedocker start [-a] CONTAINER...``"""

from __future__ import annotations

import argparse
import sys


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--attach", action="store_true", help="attach STDOUT/STDERR and forward signals")
    p.add_argument("-i", "--interactive", action="store_true", help="attach the container's STDIN")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import each_container, layout_of
    from geedocker.containers import lifecycle

    layout = layout_of(args)
    if args.attach:
        if len(args.containers) > 1:
            print("Error: you cannot start and attach multiple containers at once", file=sys.stderr)
            return 125
        return lifecycle.start(layout, args.containers[0], attach=True)

    def start(ref: str) -> str:
        lifecycle.start(layout, ref)
        return ref

    code = each_container(args.containers, start)
    if code:  # docker ends with a summary line; a missing container is the daemon's error (1)
        print(f"Error: failed to start containers: {', '.join(args.containers)}", file=sys.stderr)
    return code
