"""``geedocker start [-a] [-i] [--detach-keys] CONTAINER...``

``-a`` (or ``-i``) starts one container attached: its output is ours, its exit status ours; ``-i`` adds our
input (its terminal, raw, when it has one; the detach keys leave it running and exit 0). A container that
already runs is attached to, as docker does.
"""

from __future__ import annotations

import argparse
import sys

from geedocker.containers.engine import Engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.store.layout import Layout


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER [CONTAINER...]"  # docker's usage line
    p.add_argument("-a", "--attach", action="store_true", help="attach STDOUT/STDERR and forward signals")
    p.add_argument("-i", "--interactive", action="store_true", help="attach the container's STDIN")
    p.add_argument("--detach-keys", default="", help="override the key sequence for detaching a container")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import each_container, layout_of
    from geedocker.containers import lifecycle
    from geedocker.errors import GeeDockerError

    layout = layout_of(args)
    if args.attach or args.interactive:
        if len(args.containers) > 1:
            print("Error: you cannot start and attach multiple containers at once", file=sys.stderr)
            return 125
        return _start_attached(args, layout)

    def start(ref: str) -> str:
        try:
            lifecycle.start(layout, ref)
        except GeeDockerError as e:
            e.exit_code = 1  # docker's start fails with 1, whatever the daemon said
            raise
        return ref

    code = each_container(args.containers, start)
    if code:  # docker ends with a summary line; a missing container is the daemon's error (1)
        print(f"Error: failed to start containers: {', '.join(args.containers)}", file=sys.stderr)
    return code


def _start_attached(args: argparse.Namespace, layout: Layout) -> int:
    import os

    from geedocker.cli.attach import attach_to
    from geedocker.cli.common import detach_keys_of
    from geedocker.containers import lifecycle
    from geedocker.containers.record import Status
    from geedocker.containers.refresh import refresh
    from geedocker.errors import ContainerError
    keys = detach_keys_of(args)
    rec = refresh(layout, Engine.of(layout).containers.resolve(args.containers[0]))
    stdin = args.interactive and rec.options.interactive
    if rec.state.status == Status.RUNNING:
        code, _ = attach_to(layout, rec, stdin=args.interactive, keys=keys, sig_proxy=True)
        return code
    if stdin and rec.options.tty and not os.isatty(0):
        err = ContainerError("the input device is not a TTY")  # docker's words and status
        err.exit_code = 1
        err.prefix = ""  # type: ignore[attr-defined]
        raise err
    return lifecycle.start(layout, rec.id, attach=True, attach_stdin=stdin, detach_keys=keys)
