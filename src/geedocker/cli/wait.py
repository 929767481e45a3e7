"""``geedocker wait CONTAINER...``: block until each stops; print its exit code."""

from __future__ import annotations

import argparse
import sys


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers import lifecycle
    from geedocker.errors import GeeDockerError

    layout = layout_of(args)
    code = 0
    for ref in args.containers:
        try:
            print(lifecycle.wait(layout, ref), flush=True)
        except GeeDockerError as e:
            print(f"Error: {e}", file=sys.stderr)
            code = e.exit_code
    return code
