"""``geedocker import [-c CHANGE]... [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]``"""

from __future__ import annotations

import argparse
import sys

from geedocker.cli.common import layout_of


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] file|URL|- [REPOSITORY[:TAG]]"  # docker's usage line
    p.add_argument("file", metavar="FILE|-", help="a root filesystem tarball (plain, gzip or zstd), - for stdin")
    # docker takes any number of words after the file and uses the first (its RequiresMinArgs(1))
    p.add_argument("names", nargs="*", metavar="REPOSITORY[:TAG]")
    p.add_argument("-c", "--change", action="append", default=[], help="Dockerfile instruction (CMD, ENV, ...)")
    p.add_argument("-m", "--message", default="", help="commit message")
    p.add_argument("--platform", help="os/arch[/variant] recorded in the image config")


def run(args: argparse.Namespace) -> int:
    from geedocker.errors import UsageError
    from geedocker.images.importer import import_rootfs
    from geedocker.oci import Platform

    plat = Platform.parse(args.platform) if args.platform else None
    args.name = args.names[0] if args.names else None
    if args.file == "-":
        rec = import_rootfs(layout_of(args), sys.stdin.buffer, args.name, changes=tuple(args.change),
                            platform=plat, message=args.message)
    else:
        try:
            f = open(args.file, "rb")
        except OSError as e:
            raise UsageError(f"cannot open {args.file}: {e.strerror}") from e
        with f:
            rec = import_rootfs(layout_of(args), f, args.name, changes=tuple(args.change), platform=plat,
                                message=args.message)
    print(str(rec.id))
    return 0
