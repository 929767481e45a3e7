"""``geedocker rename CONTAINER NEW_NAME``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s CONTAINER NEW_NAME"  # docker's usage line
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("new_name", metavar="NEW_NAME")


def run(args: argparse.Namespace) -> int:
    """Every refusal is the daemon's (exit 1), followed by the CLI's own line, as docker's."""
    import sys

    from geedocker.cli.common import layout_of
    from geedocker.containers import control
    from geedocker.errors import GeeDockerError

    try:
        control.rename(layout_of(args), args.container, args.new_name)
    except GeeDockerError as e:
        print(f"Error response from daemon: {e}\nError: failed to rename container named {args.container}",
              file=sys.stderr)
        return 1
    return 0
