"""``geedocker commit [-a AUTHOR] [-c CHANGE]... [-m MESSAGE] [-p] CONTAINER [REPOSITORY[:TAG]]``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER [REPOSITORY[:TAG]]"  # docker's usage line
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("name", nargs="?", metavar="REPOSITORY[:TAG]")
    p.add_argument("-a", "--author", default="", help='author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    p.add_argument("-c", "--change", action="append", default=[], help="apply a Dockerfile instruction to the image")
    p.add_argument("-m", "--message", default="", help="commit message")
    p.add_argument("-p", "--pause", nargs="?", const="true", default="true",
                   help="pause the container during commit (default true)")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers.commit import commit
    from geedocker.errors import UsageError

    pause = {"true": True, "1": True, "t": True, "false": False, "0": False, "f": False}.get(args.pause.lower())
    if pause is None:
        raise UsageError(f'invalid argument "{args.pause}" for "-p, --pause" flag: strconv.ParseBool: parsing '
                         f'"{args.pause}": invalid syntax')
    rec = commit(layout_of(args), args.container, args.name, changes=tuple(args.change), message=args.message,
                 author=args.author, pause=pause)
    print(str(rec.id))
    return 0
