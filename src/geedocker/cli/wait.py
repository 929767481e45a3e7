"""``geedocker wait CONTAINER...``: block until each stops; print its exit code."""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s CONTAINER [CONTAINER...]"  # docker's usage line
    p.add_argument("--condition", default="not-running", help="not-running (default), next-exit or removed")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import each_container, layout_of
    from geedocker.containers import wait

    layout = layout_of(args)
    return each_container(args.containers, lambda ref: str(wait.wait(layout, ref, args.condition)))
