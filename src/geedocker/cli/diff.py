"""``geedocker diff CONTAINER``: the files the container added (A), changed (C) or deleted (D)."""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s CONTAINER"  # docker's usage line
    p.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers.commit import diff

    for c in diff(layout_of(args), args.container):
        print(f"{c.kind} {c.path}")
    return 0
