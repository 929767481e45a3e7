"""``geedocker image COMMAND``: docker's management form of the image commands (``image ls``, ``image rm``, ...,
``image history``, ``image prune``); each subcommand is the top-level command's module."""

from __future__ import annotations

import argparse
import sys

SUBCOMMANDS: dict[str, str] = {  # docker 28's `image --help` (inspect and prune are below)
    "build": "geedocker.cli.build",
    "ls": "geedocker.cli.images",
    "list": "geedocker.cli.images",
    "rm": "geedocker.cli.rmi",
    "remove": "geedocker.cli.rmi",
    "tag": "geedocker.cli.tag",
    "history": "geedocker.cli.history",
    "pull": "geedocker.cli.pull",
    "push": "geedocker.cli.push",
    "save": "geedocker.cli.save",
    "load": "geedocker.cli.load",
    "import": "geedocker.cli.import_",
}


def register(p: argparse.ArgumentParser) -> None:
    from geedocker.cli.common import register_group

    sub = register_group(p, SUBCOMMANDS)
    insp = sub.add_parser("inspect", help="display detailed information on one or more images",
                          usage="%(prog)s [OPTIONS] IMAGE [IMAGE...]")
    insp.add_argument("images", nargs="+", metavar="IMAGE")
    insp.add_argument("-f", "--format", default="", help='a Go template, or "json"')
    prune = sub.add_parser("prune", help="remove unused images", usage="%(prog)s [OPTIONS]")
    prune.add_argument("-a", "--all", action="store_true", help="remove all unused images, not just dangling ones")
    prune.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    prune.add_argument("--filter", action="filter", default=[], help="provide filter values (e.g. 'until=24h')")


def _prune(args: argparse.Namespace) -> int:
    from geedocker.cli import prune
    from geedocker.cli.common import layout_of
    from geedocker.containers.filters import parse_filters

    f = parse_filters(args.filter)
    what = "all images without at least one container associated to them" if args.all else "all dangling images"
    if not prune.confirm(f"WARNING! This will remove {what}.", args.force):
        return 0
    out, reclaimed = prune.images(layout_of(args), f, args.all)
    sys.stdout.write(out + prune.total(reclaimed))
    return 0


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import run_group

    code = run_group(args, SUBCOMMANDS)
    if code is not None:
        return code
    if args.action == "prune":
        return _prune(args)
    from geedocker.cli.common import layout_of, run_inspect
    from geedocker.errors import DaemonError, GeeDockerError
    from geedocker.images.local import inspect_image

    layout = layout_of(args)

    def get(ref: str) -> object:
        try:
            return inspect_image(layout, ref)
        except GeeDockerError as e:
            tagged = ref if ":" in ref.rpartition("/")[2] or "@" in ref else ref + ":latest"
            raise DaemonError(f"no such image: {ref}: No such image: {tagged}") from e  # dockerd 20.10's words

    return run_inspect(args.images, get, args.format)
