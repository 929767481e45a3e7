"""``geedocker inspect NAME...``: images or containers, as JSON."""

from __future__ import annotations

import argparse

from geedocker.cli.common import layout_of, run_inspect
from geedocker.errors import GeeDockerError

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from typing import Any


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] NAME|ID [NAME|ID...]"  # docker's usage line
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--type", choices=["image", "container"], help="only look for this kind of object")
    p.add_argument("-f", "--format", default="", help='a Go template, or "json"')
    p.add_argument("-s", "--size", action="store_true", help="display total file sizes if the type is container")


def _container(layout: Any, name: str) -> dict[str, Any] | None:
    import importlib

    try:
        mod = importlib.import_module("geedocker.containers.inspect")
    except ImportError:
        return None
    try:
        found: dict[str, Any] = mod.inspect_container(layout, name)
        return found
    except GeeDockerError:
        return None


def run(args: argparse.Namespace) -> int:
    layout = layout_of(args)

    def get(name: str) -> object:
        found = None
        if args.type in (None, "container"):
            found = _container(layout, name)
        if found is None and args.type in (None, "image"):
            from geedocker.images.local import inspect_image  # only for an image: a container's needs none of it

            try:
                found = inspect_image(layout, name)
            except GeeDockerError:
                found = None
        if found is None:
            raise GeeDockerError(f"Error: No such object: {name}")
        return found

    return run_inspect(args.names, get, args.format)
