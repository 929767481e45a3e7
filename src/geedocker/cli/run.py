"""``geedocker run [OPTIONS] IMAGE [COMMAND] [ARG...]``: create and start a container.

Attached (the default), its output is ours and its exit status is ours; signals we receive are
forwarded to it. With ``-d`` a monitor process keeps it and we print its id.
"""

from __future__ import annotations

import argparse

from geedocker.cli.create import add_container_flags, cidfile, options_from_args, source_from_args


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] IMAGE [COMMAND] [ARG...]"  # docker's usage line
    p.add_argument("-d", "--detach", action="store_true", help="run in the background and print the container ID")
    p.add_argument("--rm", action="store_true", help="remove the container when it exits")
    p.add_argument("--detach-keys", default="", help="override the key sequence for detaching a container")
    p.add_argument("--sig-proxy", default="true", choices=["true", "false"], nargs="?", const="true",
                   help="proxy received signals to the process (default true)")  # fmt: skip
    add_container_flags(p)


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import before_start, detach_keys_of, layout_of
    from geedocker.containers import lifecycle

    if args.tty and args.interactive and not args.detach:
        import os
        import sys

        if not os.isatty(sys.stdin.fileno()):
            print("the input device is not a TTY", file=sys.stderr)  # docker's words and status
            return 1
    keys = detach_keys_of(args)  # a bad one is refused before anything is made
    opts = options_from_args(args, detach=args.detach, rm=args.rm)
    try:
        with cidfile(opts.cidfile) as write_id:
            rec, code = lifecycle.run(layout_of(args), source_from_args(args), opts,
                                      on_created=lambda r: write_id(r.id), detach_keys=keys,
                                      sig_proxy=args.sig_proxy == "true")  # fmt: skip
    except Exception as e:
        before_start(e)
        raise
    if opts.detach:
        print(rec.id)
    return code
