"""``geedocker system service [--time SECONDS] [URI]``: serve the Docker Engine API (``geedocker.api``);
``geedocker system boot``: start the containers whose restart policy wants them up; ``system df`` and
``system prune`` (``geedocker.cli.system_df``, ``geedocker.cli.prune``)."""

from __future__ import annotations

import argparse

from geedocker.containers.engine import Engine


def register(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="COMMAND", required=True)
    sub.add_parser("boot", help="start the containers whose restart policy wants them up (after a reboot)")
    chk = sub.add_parser("check", help="report (and with --repair fix) inconsistencies in the store's containers "
                                       "and images (every blob re-hashed) and the host's address leases")
    chk.add_argument("--repair", action="store_true", help="remove leftovers, unmount and free what nothing runs in, "
                                                           "pull damaged images again")
    df = sub.add_parser("df", help="show disk usage", usage="%(prog)s [OPTIONS]")
    df.add_argument("--format", default="", help='"table", "json" or a Go template')
    df.add_argument("-v", "--verbose", action="store_true", help="show detailed information on space usage")
    from geedocker.cli import prune

    prune.register_system(sub.add_parser("prune", help="remove unused data", usage="%(prog)s [OPTIONS]"))
    from geedocker.cli import events, info

    events.register(sub.add_parser("events", help="get real time events (as 'geedocker events')"))
    info.register(sub.add_parser("info", help="display system-wide information (as 'geedocker info')"))
    s = sub.add_parser("service", help="serve the Docker Engine API (for docker, docker compose, docker-py)")
    s.add_argument("-t", "--time", type=float, default=5.0,
                   help="seconds without a request after which the service exits (0: never; default 5)")  # fmt: skip
    s.add_argument("uri", nargs="?", default="",
                   help="unix:///PATH (default unix:///run/geedocker/docker.sock) or tcp://127.0.0.1:PORT "
                        "(UNSAFE: anyone who reaches it is root on this host)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.action == "boot":
        return _boot(args)
    if args.action == "check":
        return _check(args)
    if args.action in ("events", "info"):
        import importlib

        code: int = importlib.import_module(f"geedocker.cli.{args.action}").run(args)
        return code
    if args.action == "prune":
        from geedocker.cli import prune

        return prune.system(args)
    if args.action == "df":
        from geedocker.cli import system_df

        return system_df.run(args)
    from geedocker.api.service import default_uri, serve
    from geedocker.cli.common import layout_of
    from geedocker.errors import UsageError

    if args.time < 0:
        raise UsageError("--time must be 0 or more seconds")
    layout = layout_of(args)
    uri = args.uri or default_uri(layout)
    if uri.startswith("tcp://"):
        import sys

        print(f"WARNING: serving the API on {uri} without TLS or authentication: whoever can connect is root "
              "on this host", file=sys.stderr)  # fmt: skip
    serve(layout, uri, args.time)
    return 0


def _boot(args: argparse.Namespace) -> int:
    """As dockerd at start: ``always`` and ``unless-stopped`` (not stopped by hand) containers start again; first
    the leftovers of interrupted creates and removals go (``removal.sweep``)."""
    import sys

    from geedocker.cli.common import layout_of
    from geedocker.containers import lifecycle, removal
    from geedocker.containers.record import Status
    from geedocker.containers.refresh import refresh
    from geedocker.containers.restart import starts_at_boot
    from geedocker.errors import GeeDockerError

    layout = layout_of(args)
    code = 0
    removal.sweep(layout)  # what creates and removals interrupted by the reboot left
    for rec in Engine.of(layout).containers.list():
        rec = refresh(layout, rec)
        if rec.state.status == Status.RUNNING or not starts_at_boot(rec.options.restart, rec.state.manually_stopped):
            continue
        try:
            lifecycle.start(layout, rec.id, keep_manual_stop=True)
            print(rec.name)
        except GeeDockerError as e:
            print(f"Error: starting {rec.name}: {e}", file=sys.stderr)
            code = 1
    return code


def _check(args: argparse.Namespace) -> int:
    """One line a problem (``repaired:`` before those fixed); 1 when a problem is left, as fsck."""
    from geedocker.cli.common import layout_of
    from geedocker.containers.check import check

    found, fixed = check(layout_of(args), repair=args.repair)
    for line in found:
        print(("repaired: " if line in fixed else "") + line)
    return 1 if len(fixed) < len(found) else 0
