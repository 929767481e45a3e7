"""``geedocker cp [-a] [-L] CONTAINER:SRC DEST|-`` and ``geedocker cp [-a] [-L] SRC|- CONTAINER:DEST``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\t%(prog)s [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"
    p.add_argument("-a", "--archive", action="store_true", help="archive mode (copy all uid/gid information)")
    p.add_argument("-L", "--follow-link", action="store_true", help="always follow symbol link in SRC_PATH")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress progress output")
    p.add_argument("src", metavar="SRC")
    p.add_argument("dest", metavar="DEST")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers.copy import copy

    copy(layout_of(args), args.src, args.dest, follow=args.follow_link, archive=args.archive)
    return 0
