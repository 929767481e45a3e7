"""``geedocker logout [SERVER]``"""

from __future__ import annotations

import argparse

from geedocker.cli.login import registry_host


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [SERVER]"  # docker's usage line
    p.add_argument("server", nargs="?", default="docker.io")


def run(args: argparse.Namespace) -> int:
    from geedocker.registry import logout

    host = registry_host(args.server)
    api_host = "registry-1.docker.io" if host == "docker.io" else host
    if logout(api_host):
        print(f"Removing login credentials for {host}")
    else:
        print(f"Not logged in to {host}")
    return 0
