"""``geedocker login [-u USER] [-p PASS | --password-stdin] [SERVER]``"""

from __future__ import annotations

import argparse
import getpass
import sys

from geedocker.errors import UsageError


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] [SERVER]"  # docker's usage line
    p.add_argument("server", nargs="?", default="docker.io", help="registry host[:port] (default docker.io)")
    p.add_argument("-u", "--username")
    p.add_argument("-p", "--password")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def registry_host(server: str) -> str:
    host = server.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    return "docker.io" if host in ("index.docker.io", "registry-1.docker.io", "docker.io") else host


def run(args: argparse.Namespace) -> int:
    from geedocker.registry.config import RegistryConfig
    from geedocker.registry.login import login

    if args.password and args.password_stdin:
        raise UsageError("--password and --password-stdin are mutually exclusive")
    user = args.username
    if not user:
        if not sys.stdin.isatty():
            raise UsageError("a username is required (-u) when standard input is not a terminal")
        user = input("Username: ").strip()
    if args.password_stdin:
        password = sys.stdin.read().rstrip("\n")
    elif args.password is not None:
        print("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", file=sys.stderr)
        password = args.password
    else:
        password = getpass.getpass("Password: ")
    if not user or not password:
        raise UsageError("username and password must not be empty")
    host = registry_host(args.server)
    api_host = "registry-1.docker.io" if host == "docker.io" else host
    path = login(api_host, user, password, config=RegistryConfig.from_env())
    print(f"Login Succeeded (credentials saved in {path})")
    return 0
