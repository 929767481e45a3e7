"""``geedocker rmi [-f] IMAGE...``"""

from __future__ import annotations

import argparse
import sys

from geedocker.cli.common import layout_of
from geedocker.containers.engine import Engine
from geedocker.errors import GeeDockerError


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] IMAGE [IMAGE...]"  # docker's usage line
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("-f", "--force", action="store_true", help="remove even if in use or tagged many times")


def run(args: argparse.Namespace) -> int:
    from geedocker.images.local import remove_image

    layout = layout_of(args)
    rc = 0
    for name in args.images:
        try:
            for line in remove_image(layout, name, users=Engine.of(layout).containers.image_users, force=args.force):
                print(line)
        except GeeDockerError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 1
    return rc
