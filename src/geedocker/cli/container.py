"""``geedocker container COMMAND``: docker's management form (``container ls``, ``container rm``...,
``container prune``, ``container inspect``): every command of docker's ``container --help``; each subcommand is
the top-level command's module."""

from __future__ import annotations

import argparse
import sys

# subcommand -> module (the top-level command of the same meaning)
SUBCOMMANDS: dict[str, str] = {
    "attach": "geedocker.cli.attach",
    "commit": "geedocker.cli.commit",
    "cp": "geedocker.cli.cp",
    "create": "geedocker.cli.create",
    "diff": "geedocker.cli.diff",
    "exec": "geedocker.cli.exec",
    "export": "geedocker.cli.export",
    "kill": "geedocker.cli.kill",
    "logs": "geedocker.cli.logs",
    "ls": "geedocker.cli.ps",
    "ps": "geedocker.cli.ps",
    "list": "geedocker.cli.ps",
    "pause": "geedocker.cli.pause",
    "port": "geedocker.cli.port",
    "rename": "geedocker.cli.rename",
    "restart": "geedocker.cli.restart",
    "rm": "geedocker.cli.rm",
    "remove": "geedocker.cli.rm",
    "run": "geedocker.cli.run",
    "start": "geedocker.cli.start",
    "stats": "geedocker.cli.stats",
    "stop": "geedocker.cli.stop",
    "top": "geedocker.cli.top",
    "unpause": "geedocker.cli.unpause",
    "update": "geedocker.cli.update",
    "wait": "geedocker.cli.wait",
}  # docker 28's `container --help`, every command with its aliases (inspect and prune are below)


def register(p: argparse.ArgumentParser) -> None:
    from geedocker.cli.common import register_group

    sub = register_group(p, SUBCOMMANDS)
    prune = sub.add_parser("prune", help="remove all stopped containers", usage="%(prog)s [OPTIONS]")
    prune.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    prune.add_argument("--filter", action="filter", default=[], help="provide filter values (e.g. 'until=<timestamp>')")
    insp = sub.add_parser("inspect", help="display detailed information on one or more containers",
                          usage="%(prog)s [OPTIONS] CONTAINER [CONTAINER...]")
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
        from geedocker.cli import prune
        from geedocker.containers.filters import parse_filters

        f = parse_filters(args.filter)
        if not prune.confirm("WARNING! This will remove all stopped containers.", args.force):
            return 0
        out, reclaimed = prune.containers(layout, f)
        sys.stdout.write(out + prune.total(reclaimed))
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
