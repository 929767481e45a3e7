"""``geedocker attach [--no-stdin] [--sig-proxy] [--detach-keys] CONTAINER``

The container's output as it comes (from the log its monitor writes), the signals this process gets forwarded
to it (``--sig-proxy``, on by default), and its exit status when it stops, as ``docker attach``. The monitor
holds no channel for another process's input yet: attaching the input of a ``-i`` container (or the terminal of
a ``-t`` one) is refused unless ``--no-stdin``.
"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-stdin", action="store_true", help="do not attach STDIN")
    p.add_argument("--sig-proxy", default="true", choices=["true", "false"], nargs="?", const="true",
                   help="proxy all received signals to the process (default true)")  # fmt: skip
    p.add_argument("--detach-keys", default="ctrl-p,ctrl-q", help="override the key sequence for detaching")
    p.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    import contextlib
    import signal
    import sys

    from geedocker.cli.common import layout_of
    from geedocker.containers import lifecycle, logs
    from geedocker.containers.store import ContainerStore, Status
    from geedocker.errors import ContainerError, GeeDockerError, UsageError

    layout = layout_of(args)
    store = ContainerStore(layout)
    rec = lifecycle.refresh(layout, store.resolve(args.container))
    if rec.state.status != Status.RUNNING:
        err = ContainerError("You cannot attach to a stopped container, start it first")
        err.exit_code = 1
        raise err
    if store.is_paused(rec):
        err = ContainerError("You cannot attach to a paused container, unpause it first")
        err.exit_code = 1
        raise err
    if (rec.options.interactive or rec.options.tty) and not args.no_stdin:
        raise UsageError("attaching the input or terminal of a -i/-t container is not supported yet: use --no-stdin")
    path = store.log_path(rec.id)
    start = path.stat().st_size if path.exists() else 0

    def done() -> bool:
        try:
            return lifecycle.refresh(layout, store.load(rec.id)).state.status != Status.RUNNING
        except GeeDockerError:
            return True

    if args.sig_proxy == "true":

        def forward(signum: int, _frame: object) -> None:
            with contextlib.suppress(GeeDockerError):
                lifecycle.kill(layout, rec.id, signum)

        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(s, forward)
    out, err_ = logs.stdio()
    if not path.exists():
        path.touch()
    logs.write_entries(logs.follow_entries(path, start, done), out, err_, False)
    sys.stdout.flush()
    try:
        return lifecycle.wait(layout, rec.id)
    except GeeDockerError:
        return 0  # removed meanwhile (``--rm``) without its exit code
