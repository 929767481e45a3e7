"""``geedocker container COMMAND``: docker's management form (``container ls``, ``container rm``...,
``container prune``, ``container inspect``); each subcommand is the top-level command's module."""

from __future__ import annotations

import argparse
import sys

# subcommand -> module (the top-level command of the same meaning)
SUBCOMMANDS: dict[str, str] = {
    "ls": "geedocker.cli.ps",
    "ps": "geedocker.cli.ps",
    "list": "geedocker.cli.ps",
    "create": "geedocker.cli.create",
    "run": "geedocker.cli.run",
    "start": "geedocker.cli.start",
    "stop": "geedocker.cli.stop",
    "restart": "geedocker.cli.restart",
    "kill": "geedocker.cli.kill",
    "rm": "geedocker.cli.rm",
    "logs": "geedocker.cli.logs",
    "exec": "geedocker.cli.exec",
    "wait": "geedocker.cli.wait",
    "commit": "geedocker.cli.commit",
    "diff": "geedocker.cli.diff",
    "export": "geedocker.cli.export",
}


def register(p: argparse.ArgumentParser) -> None:
    from geedocker.cli.common import register_group

    sub = register_group(p, SUBCOMMANDS)
    prune = sub.add_parser("prune", help="remove all stopped containers")
    prune.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    insp = sub.add_parser("inspect", help="display detailed information on one or more containers")
    insp.add_argument("containers", nargs="+", metavar="CONTAINER")
    insp.add_argument("-f", "--format", default="", help='a Go template, or "json"')
    insp.add_argument("-s", "--size", action="store_true", help="display total file sizes")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of, run_group

    code = run_group(args, SUBCOMMANDS)
    if code is not None:
        return code
    layout = layout_of(args)
    if args.action == "prune":
        from geedocker.containers.lifecycle import prune

        if not args.force and sys.stdin.isatty():
            print("WARNING! This will remove all stopped containers.")
            answer = input("Are you sure you want to continue? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                return 0
        removed = prune(layout)
        if removed:
            print("Deleted Containers:")
            for cid in removed:
                print(cid)
            print()
        print("Total reclaimed space: 0B")
        return 0
    from geedocker.cli.common import run_inspect
    from geedocker.containers.inspect import inspect_container
    from geedocker.errors import ContainerNotFound, DaemonError

    def get(ref: str) -> object:
        try:
            return inspect_container(layout, ref)
        except ContainerNotFound as e:
            raise DaemonError(f"No such container: {ref}") from e

    return run_inspect(args.containers, get, args.format)
