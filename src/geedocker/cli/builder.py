"""``geedocker builder prune [-f] [-a]``: empty the build cache."""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="COMMAND", required=True)
    prune = sub.add_parser("prune", help="remove the build cache", usage="%(prog)s")  # docker's
    prune.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    prune.add_argument("-a", "--all", action="store_true", help="accepted: the whole cache is removed")


def run(args: argparse.Namespace) -> int:
    import sys

    from geedocker.cli import prune
    from geedocker.cli.common import layout_of

    if not prune.confirm("WARNING! This will remove all dangling build cache.", args.force, sep=" "):
        return 0
    out, freed = prune.build_cache(layout_of(args))
    sys.stdout.write(out + prune.total(freed))
    return 0
