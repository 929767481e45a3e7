"""``geedocker tag SOURCE_IMAGE TARGET_IMAGE``"""

from __future__ import annotations

import argparse

from geedocker.cli.common import layout_of


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"  # docker's usage line
    p.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    p.add_argument("target", metavar="TARGET_IMAGE[:TAG]")


def run(args: argparse.Namespace) -> int:
    from geedocker.images.local import tag_image

    tag_image(layout_of(args), args.source, args.target)
    return 0
