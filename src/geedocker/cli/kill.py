"""``geedocker kill [-s SIGNAL] CONTAINER...``"""

from __future__ import annotations

import argparse
import sys


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("-s", "--signal", default="KILL", help="signal to send to the container (default KILL)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers import lifecycle
    from geedocker.containers.spec import parse_signal
    from geedocker.errors import GeeDockerError

    layout = layout_of(args)
    sig = parse_signal(args.signal)
    code = 0
    for ref in args.containers:
        try:
            lifecycle.kill(layout, ref, sig)
            print(ref)
        except GeeDockerError as e:
            print(f"Error: {e}", file=sys.stderr)
            code = e.exit_code
    return code
