"""``geedocker-runtime exec`` and ``update``: the process and the resources object they hand the runtime core,
built from their flags, a file or stdin (and, for exec, the bundle's own process).

Apart from ``cli`` (main and the dispatch, which imports this when one of them runs): ``geedocker-runtime run``
does not load them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from geedocker.argparsing import ArgumentParser
from geedocker.runtime.cli_parser import exec_options, usage

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import argparse  # at run time through geedocker.argparsing, which imports it its way
    from typing import Any


def exec_(rt: Any, root: Path, args: argparse.Namespace) -> int:
    if args.command[:1] and args.command[0].startswith("-") and args.command[0] != "--":
        # Options after the id (``exec ID --process F``): parse them off the front.
        extra = ArgumentParser(add_help=False, strict=False)
        exec_options(extra)
        args.command = extra.parse_known_args(args.command, namespace=args)[1]
    if args.preserve_fds:
        raise usage("--preserve-fds is not supported")
    if args.process:
        with open(args.process, "rb") as f:
            proc: dict[str, Any] = json.loads(f.read(1 << 20))
    else:
        command = args.command[1:] if args.command[:1] == ["--"] else list(args.command)
        if not command:
            raise usage("exec needs --process or a command")
        st = rt.state(root, args.id)
        base = _bundle_process(Path(st.bundle))
        proc = {
            "args": command,
            "cwd": args.cwd or base.get("cwd", "/"),
            "env": list(base.get("env", [])) + list(args.env),
            "terminal": args.tty,
            "user": dict(base.get("user") or {"uid": 0, "gid": 0}),
            "capabilities": base.get("capabilities"),
            "noNewPrivileges": args.no_new_privs or bool(base.get("noNewPrivileges")),
            "rlimits": base.get("rlimits", []),
        }
        if args.user:
            uid, _, gid = args.user.partition(":")
            proc["user"] = {"uid": int(uid), "gid": int(gid or 0)}
        if args.cap and proc["capabilities"]:
            for k in ("bounding", "effective", "permitted"):
                proc["capabilities"][k] = list(proc["capabilities"].get(k, [])) + list(args.cap)
    if args.tty:
        proc["terminal"] = True
    result = int(rt.exec_(root, args.id, proc, console_socket=args.console_socket, detach=args.detach,
                          pid_file=args.pid_file))
    return 0 if args.detach else result  # detached: the result is the new process's pid


def update_resources(args: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if args.resources:
        raw = sys.stdin.read(1 << 20) if args.resources == "-" else Path(args.resources).read_text()
        loaded = json.loads(raw)
        if not isinstance(loaded, dict):
            raise usage("--resources: expected a JSON object")
        res = loaded
    mem = res.setdefault("memory", {})
    if args.memory is not None:
        mem["limit"] = args.memory
    if args.memory_swap is not None:
        mem["swap"] = args.memory_swap
    cpu = res.setdefault("cpu", {})
    for key, value in (("quota", args.cpu_quota), ("period", args.cpu_period), ("shares", args.cpu_shares)):
        if value is not None:
            cpu[key] = value
    if args.pids_limit is not None:
        res["pids"] = {"limit": args.pids_limit}
    return {k: v for k, v in res.items() if v}


def _bundle_process(bundle: Path) -> dict[str, Any]:
    try:
        with open(bundle / "config.json", "rb") as f:
            obj = json.loads(f.read(4 << 20))
        proc = obj.get("process") or {}
        return proc if isinstance(proc, dict) else {}
    except (OSError, ValueError):
        return {}
