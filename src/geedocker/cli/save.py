"""``geedocker save [-o FILE] IMAGE...``: a docker archive with the OCI layout inside."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from geedocker.cli.common import layout_of
from geedocker.errors import GeeDockerError, UsageError


class SaveError(GeeDockerError):
    """The archive cannot be written where asked (docker: status 1)."""

    exit_code = 1


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] IMAGE [IMAGE...]"  # docker's usage line
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")


def run(args: argparse.Namespace) -> int:
    from geedocker.images.tarball import save

    layout = layout_of(args)
    if not args.output:
        if sys.stdout.isatty():
            raise UsageError("refusing to write an archive to a terminal; use -o FILE or redirect the output")
        with _write_errors("/dev/stdout"):
            save(layout, args.images, sys.stdout.buffer)
        return 0
    out = Path(args.output)
    if out.exists() and not out.is_file() and not out.is_dir():
        # a device or a pipe (-o /dev/stdout, a fifo): written in place; a rename would replace the device node
        with _write_errors(str(out)), open(out, "wb") as f:
            save(layout, args.images, f)
        return 0
    if not out.parent.is_dir():  # docker's words and status
        raise SaveError(f'failed to save image: invalid output path: directory "{out.parent}" does not exist')
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    except OSError as e:
        raise SaveError(f"failed to save image: {out}: {e.strerror}") from e
    try:
        with _write_errors(str(out)), os.fdopen(fd, "wb") as f:
            save(layout, args.images, f)
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return 0


@contextlib.contextmanager
def _write_errors(target: str) -> Iterator[None]:
    """A failed write of the archive (a full disk) as docker says it: ``write /dev/stdout: no space left on
    device``, status 1. A reader that went away (``save | head``) is left to end the command quietly."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as e:
        if e.filename is not None:  # a file of the store, not the archive
            raise
        raise SaveError(f"write {target}: {(e.strerror or str(e)).lower()}") from e
