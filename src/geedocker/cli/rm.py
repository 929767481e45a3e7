"""``geedocker rm [-f] CONTAINER...``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER [CONTAINER...]"  # docker's usage line
    p.add_argument("-f", "--force", action="store_true", help="force the removal of a running container (SIGKILL)")
    p.add_argument("-v", "--volumes", action="store_true", help="remove the container's anonymous volumes")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import each_container, layout_of
    from geedocker.containers import removal

    layout = layout_of(args)

    def remove(ref: str) -> str:
        removal.remove(layout, ref, force=args.force, volumes=args.volumes)
        return ref

    return each_container(args.containers, remove, missing_ok=args.force)
