"""``geedocker save [-o FILE] IMAGE...``: a docker archive with the OCI layout inside."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

from geedocker.cli.common import layout_of
from geedocker.errors import UsageError


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")


def run(args: argparse.Namespace) -> int:
    from geedocker.images.tarball import save

    layout = layout_of(args)
    if not args.output:
        if sys.stdout.isatty():
            raise UsageError("refusing to write an archive to a terminal; use -o FILE or redirect the output")
        save(layout, args.images, sys.stdout.buffer)
        return 0
    out = Path(args.output)
    fd, tmp = tempfile.mkstemp(dir=out.parent if str(out.parent) else ".", prefix=f".{out.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            save(layout, args.images, f)
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return 0
