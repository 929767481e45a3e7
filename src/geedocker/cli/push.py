"""``geedocker push [-q] IMAGE [DESTINATION]``"""

from __future__ import annotations

import argparse

from geedocker.cli.common import layout_of


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] NAME[:TAG] [DESTINATION]"  # docker's usage line
    p.add_argument("image", metavar="NAME[:TAG]")
    p.add_argument("destination", nargs="?", help="push to this reference instead of the image's own name")
    p.add_argument("-q", "--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    from geedocker.images.push import push

    result = push(layout_of(args), args.image, destination=args.destination,
                  progress=None if args.quiet else print)
    tag = result.reference.tag or "latest"
    if not args.quiet:
        print(f"{tag}: digest: {result.digest} size: {result.size}")
    return 0
