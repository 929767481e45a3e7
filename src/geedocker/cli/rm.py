"""``geedocker rm [-f] CONTAINER...``"""

from __future__ import annotations

import argparse
import sys


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="force the removal of a running container (SIGKILL)")
    p.add_argument("-v", "--volumes", action="store_true", help="accepted for compatibility (no volumes to remove)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers import lifecycle
    from geedocker.errors import GeeDockerError

    layout = layout_of(args)
    code = 0
    for ref in args.containers:
        try:
            lifecycle.remove(layout, ref, force=args.force)
            print(ref)
        except GeeDockerError as e:
            print(f"Error: {e}", file=sys.stderr)
            code = e.exit_code
    return code
