"""``geedocker export [-o FILE] CONTAINER``: the container's filesystem as a tar archive."""

from __future__ import annotations

import argparse
import sys


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER"  # docker's usage line
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("-o", "--output", help="write to a file instead of STDOUT")


def run(args: argparse.Namespace) -> int:
    import os

    from geedocker.cli.common import layout_of
    from geedocker.containers.commit import export
    from geedocker.errors import UsageError

    if not args.output:
        if sys.stdout.isatty():
            raise UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        export(layout_of(args), args.container, sys.stdout.buffer)
        return 0
    tmp = f"{args.output}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            export(layout_of(args), args.container, f)
        os.replace(tmp, args.output)
    except OSError as e:
        raise UsageError(f"writing {args.output}: {e.strerror}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return 0
