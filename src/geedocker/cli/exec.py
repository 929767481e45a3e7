"""``geedocker exec [-i] [-t] [-d] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    from geedocker.argparsing import requires_args

    p.usage = "%(prog)s [OPTIONS] CONTAINER COMMAND [ARG...]"  # docker's usage line
    requires_args(p, 2)  # the command is a REMAINDER, which may be empty
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("-d", "--detach", action="store_true", help="run the command in the background")
    p.add_argument("-e", "--env", action="append", default=[], help="set environment variables")
    p.add_argument("-w", "--workdir", default="", help="working directory inside the container")
    p.add_argument("-u", "--user", default="", help="username or UID (format: <name|uid>[:<group|gid>])")
    p.add_argument("--privileged", action="store_true", help="accepted; the container's capabilities are used")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.containers.execute import ExecOptions, exec_in
    from geedocker.containers.flags import parse_env_list

    eo = ExecOptions(
        args=tuple(args.command),
        interactive=args.interactive,
        tty=args.tty,
        env=tuple(parse_env_list(args.env)),
        workdir=args.workdir,
        user=args.user,
        detach=args.detach,
    )
    return exec_in(layout_of(args), args.container, eo)
