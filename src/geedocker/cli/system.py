"""``geedocker system service [--time SECONDS] [URI]``: serve the Docker Engine API (``geedocker.api``)."""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="COMMAND", required=True)
    s = sub.add_parser("service", help="serve the Docker Engine API (for docker, docker compose, docker-py)")
    s.add_argument("-t", "--time", type=float, default=5.0,
                   help="seconds without a request after which the service exits (0: never; default 5)")  # fmt: skip
    s.add_argument("uri", nargs="?", default="",
                   help="unix:///PATH (default unix:///run/geedocker/docker.sock) or tcp://127.0.0.1:PORT "
                        "(UNSAFE: anyone who reaches it is root on this host)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
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
