"""``geedocker search [--limit N] [--filter K=V] [--format F] [--no-trunc] TERM``: refused with a clear message.

docker's search asks the registry's v1 search endpoint (Docker Hub's index). geedocker speaks the Distribution
(v2) API only, which has no search; rather than fail on a connection or a 404, it says so (exit 1, as a daemon
error of docker's)."""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] TERM"  # docker's usage line
    p.add_argument("term", metavar="TERM")
    p.add_argument("--limit", type=int, default=25, help="max number of search results")
    p.add_argument("-f", "--filter", action="append", default=[], help="filter output based on conditions")
    p.add_argument("--format", default="", help="pretty-print search using a Go template")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")


def run(args: argparse.Namespace) -> int:
    from geedocker.errors import DaemonError

    head, sep, _ = args.term.partition("/")
    host = head if sep and ("." in head or ":" in head or head == "localhost") else "docker.io"
    raise DaemonError(f"search is not supported by this registry ({host}): geedocker speaks the registry's "
                      "Distribution API, which has no search")
