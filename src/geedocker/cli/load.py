"""``geedocker load [-i FILE] [-q]``: docker archives (old and new style) and OCI layout archives."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geedocker.cli.common import layout_of
from geedocker.errors import UsageError


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS]"  # docker's usage line
    p.add_argument("-i", "--input", help="read from this file instead of standard input")
    p.add_argument("-q", "--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Every failure exits 1, as docker's (its daemon's errors, and the CLI's own about the input)."""
    from geedocker.errors import GeeDockerError

    try:
        return _load(args)
    except GeeDockerError as e:
        e.exit_code = 1
        raise


def _load(args: argparse.Namespace) -> int:
    from geedocker.images.tarball import load

    layout = layout_of(args)
    if args.input:
        path = Path(args.input)
        if not path.exists():
            raise UsageError(f"open {path}: no such file or directory")
        if path.is_dir():
            raise UsageError(f"read {path}: is a directory")
        loaded = load(layout, path)
    else:
        if sys.stdin.isatty():
            raise UsageError("requested load from stdin, but stdin is empty")
        loaded = load(layout, sys.stdin.buffer)
    if not args.quiet:
        for item in loaded:
            if item.names:
                for n in item.names:
                    print(f"Loaded image: {n}")
            else:
                print(f"Loaded image ID: {item.record.id}")
    return 0
