"""``geedocker-runtime``'s global flags and commands (runc's), and its usage errors.

Apart from ``cli`` (main and the dispatch) so that the command modules can use them too (``cli_exec``
parses exec's options off the front of its command) without importing ``cli``, which imports them.
"""

from __future__ import annotations

import os

from geedocker.argparsing import REMAINDER, ArgumentParser

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import argparse  # at run time through geedocker.argparsing, which imports it its way

VERSION = "0.1.0"
SPEC_VERSION = "1.2.0"
DEFAULT_ROOT = "/run/geedocker-runtime"


class _RuntimeParser(ArgumentParser):
    """A bad or unknown flag exits 1, as runc's does."""

    usage_exit_code = 1


def parser() -> argparse.ArgumentParser:
    p = _RuntimeParser(prog="geedocker-runtime", description="An OCI runtime (runc-compatible CLI)")
    p.add_argument("--root", default=os.environ.get("GEEDOCKER_RUNTIME_ROOT", DEFAULT_ROOT),
                   help=f"state directory (default {DEFAULT_ROOT})")
    p.add_argument("--log", help="append errors to this file")
    p.add_argument("--log-format", choices=["text", "json"], default="text")
    p.add_argument("--debug", action="store_true")
    p.add_argument("--systemd-cgroup", action="store_true", help="not supported (refused)")
    p.add_argument("--rootless", default="auto", help="accepted for compatibility; ignored")
    p.add_argument("--criu", help="accepted for compatibility; checkpointing is not supported")
    p.add_argument("-v", "--version", action="store_true")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    def with_bundle(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("id")
        sp.add_argument("-b", "--bundle", default=".")
        sp.add_argument("--pid-file")
        sp.add_argument("--console-socket")
        sp.add_argument("--no-pivot", action="store_true")
        sp.add_argument("--no-new-keyring", action="store_true")
        sp.add_argument("--preserve-fds", type=int, default=0)

    with_bundle(sub.add_parser("create", help="create a container"))
    r = sub.add_parser("run", help="create and start a container")
    with_bundle(r)
    r.add_argument("-d", "--detach", action="store_true")
    r.add_argument("--keep", action="store_true")
    for name in ("start", "state", "pause", "resume"):
        sub.add_parser(name).add_argument("id")
    k = sub.add_parser("kill", help="send a signal to a container's init")
    k.add_argument("id")
    k.add_argument("signal", nargs="?", default="SIGTERM")
    k.add_argument("-a", "--all", action="store_true")
    d = sub.add_parser("delete", help="delete a container")
    d.add_argument("id")
    d.add_argument("-f", "--force", action="store_true")
    e = sub.add_parser("exec", help="run a process in a container")
    e.add_argument("id")
    e.add_argument("command", nargs=REMAINDER)
    exec_options(e)
    ls = sub.add_parser("list", help="list containers")
    ls.add_argument("-f", "--format", choices=["table", "json"], default="table")
    ls.add_argument("-q", "--quiet", action="store_true")
    ps = sub.add_parser("ps", help="processes of a container")
    ps.add_argument("id")
    ps.add_argument("-f", "--format", choices=["table", "json"], default="table")
    ps.add_argument("ps_args", nargs=REMAINDER, help="ps options for the table (default -ef)")
    u = sub.add_parser("update", help="change a container's resource limits")
    u.add_argument("id")
    u.add_argument("-r", "--resources", help="linux.resources JSON file, '-' for stdin")
    u.add_argument("--memory", type=int)
    u.add_argument("--memory-swap", type=int)
    u.add_argument("--pids-limit", type=int)
    u.add_argument("--cpu-quota", type=int)
    u.add_argument("--cpu-period", type=int)
    u.add_argument("--cpu-shares", type=int)
    sub.add_parser("features", help="what this runtime supports (JSON)")
    sp = sub.add_parser("spec", help="write a base config.json")
    sp.add_argument("-b", "--bundle", default=".")
    sp.add_argument("--rootless", action="store_true")
    return p


def exec_options(e: argparse.ArgumentParser) -> None:
    e.add_argument("-p", "--process")
    e.add_argument("-d", "--detach", action="store_true")
    e.add_argument("-t", "--tty", action="store_true")
    e.add_argument("--console-socket")
    e.add_argument("--pid-file")
    e.add_argument("--cwd")
    e.add_argument("-e", "--env", action="append", default=[])
    e.add_argument("-u", "--user")
    e.add_argument("--no-new-privs", action="store_true")
    e.add_argument("--cap", action="append", default=[])
    e.add_argument("--preserve-fds", type=int, default=0)



def usage(msg: str) -> Exception:
    from geedocker.errors import UsageError

    return UsageError(msg)

