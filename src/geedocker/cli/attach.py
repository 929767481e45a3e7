"""``geedocker attach [--no-stdin] [--sig-proxy] [--detach-keys] CONTAINER``

As ``docker attach``: the container's output as it comes, our input when it was started with ``-i`` (its
terminal when with ``-t``: raw, our window size following; the detach keys, ctrl-p ctrl-q by default, leave it
running and exit 1 with docker's "read escape sequence"), the signals we get forwarded to it (``--sig-proxy``,
on by default, not with a terminal), and its exit status when it stops. A ``-t``/``-i`` container is reached
through its monitor's attach socket (``containers.attachment``); any other one by following the log its
monitor writes.
"""

from __future__ import annotations

import argparse

from geedocker.containers.engine import Engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.containers.record import ContainerRecord
    from geedocker.store.layout import Layout


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER"  # docker's usage line
    p.add_argument("--no-stdin", action="store_true", help="do not attach STDIN")
    p.add_argument("--sig-proxy", default="true", choices=["true", "false"], nargs="?", const="true",
                   help="proxy all received signals to the process (default true)")  # fmt: skip
    p.add_argument("--detach-keys", default="", help="override the key sequence for detaching a container")
    p.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    import sys

    from geedocker.cli.common import detach_keys_of, layout_of
    from geedocker.containers.record import Status
    from geedocker.containers.refresh import refresh
    from geedocker.errors import ContainerError

    layout = layout_of(args)
    store = Engine.of(layout).containers
    keys = detach_keys_of(args)
    rec = refresh(layout, store.resolve(args.container))
    if rec.state.status != Status.RUNNING:
        err = ContainerError("You cannot attach to a stopped container, start it first")
        err.exit_code = 1
        raise err
    if store.is_paused(rec):
        err = ContainerError("You cannot attach to a paused container, unpause it first")
        err.exit_code = 1
        raise err
    if rec.state.restarting:
        err = ContainerError("You cannot attach to a restarting container, wait until it is running")
        err.exit_code = 1
        raise err
    code, detached = attach_to(layout, rec, stdin=not args.no_stdin, keys=keys, sig_proxy=args.sig_proxy == "true")
    if detached:
        print("read escape sequence", file=sys.stderr)  # docker's words and status
        return 1
    return code


def attach_to(layout: Layout, rec: ContainerRecord, *, stdin: bool, keys: bytes, sig_proxy: bool) -> tuple[int, bool]:
    """Attach to running ``rec``: (its exit status, False) once it stops, or (0, True) when the user detached.
    ``stdin``: ours goes to it if it keeps one open (``-i``)."""
    import contextlib
    import os
    import signal
    import sys

    from geedocker.containers import lifecycle, logs, wait
    from geedocker.containers.record import Status
    from geedocker.containers.refresh import refresh
    from geedocker.containers.store import event
    from geedocker.errors import ContainerError, GeeDockerError

    store = Engine.of(layout).containers
    opts = rec.options
    if stdin and opts.tty and not os.isatty(0):
        err = ContainerError("the input device is not a TTY")  # docker's words and status
        err.exit_code = 1
        err.prefix = ""  # type: ignore[attr-defined]
        raise err
    event(layout, rec, "attach")
    if sig_proxy and not opts.tty:  # with a terminal, ctrl-c is a key the container gets anyway

        def forward(signum: int, _frame: object) -> None:
            with contextlib.suppress(GeeDockerError):
                lifecycle.kill(layout, rec.id, signum)

        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(s, forward)

    def exit_status() -> int:
        try:
            return wait.wait(layout, rec.id)
        except GeeDockerError:
            return 0  # removed meanwhile (``--rm``) without its exit code

    if opts.tty or opts.interactive:
        from geedocker.containers import attachment

        sock = attachment.connect(attachment.socket_path(layout, rec.id))
        if sock is None:
            if refresh(layout, store.load(rec.id)).state.status != Status.RUNNING:
                return exit_status(), False
            raise ContainerError(f"container {rec.name} has no attach socket (started by an older geedocker?)")
        with sock:
            sys.stdout.flush()
            detached = attachment.relay(sock, stdin=stdin and opts.interactive, tty=opts.tty, keys=keys)
        if detached:
            event(layout, rec, "detach")  # as dockerd: the detach keys ended the attach
            return 0, True
        return exit_status(), False
    path = store.log_path(rec.id)
    start = path.stat().st_size if path.exists() else 0

    def done() -> bool:
        try:
            return refresh(layout, store.load(rec.id)).state.status != Status.RUNNING
        except GeeDockerError:
            return True

    out, err_ = logs.stdio()
    if not path.exists():
        path.touch()
    logs.write_entries(logs.follow_entries(path, start, done), out, err_, False)
    sys.stdout.flush()
    return exit_status(), False
