"""``geedocker builder prune [-f] [-a]``: empty the build cache."""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="COMMAND", required=True)
    prune = sub.add_parser("prune", help="remove the build cache")
    prune.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    prune.add_argument("-a", "--all", action="store_true", help="accepted: the whole cache is removed")


def run(args: argparse.Namespace) -> int:
    from geedocker.build.cache import BuildCache
    from geedocker.cli.common import layout_of

    removed, freed = BuildCache(layout_of(args)).prune()
    print(f"Deleted build cache objects: {removed}")
    print(f"Total reclaimed space: {freed / 1e6:.1f}MB" if freed >= 1e6 else f"Total reclaimed space: {freed}B")
    return 0
