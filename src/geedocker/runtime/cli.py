"""``geedocker-runtime``: runc's command line over the runtime core, so podman or containerd can drive it.

    geedocker-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND ...
      create  <id> [-b DIR] [--pid-file F] [--console-socket S]
      start   <id>
      state   <id>
      kill    <id> [SIGNAL] [-a|--all]
      delete  <id> [-f|--force]
      run     <id> [-b DIR] [--pid-file F] [--console-socket S] [-d|--detach] [--keep]
      exec    <id> (--process F | CMD [ARG...]) [-d] [-t --console-socket S] [--pid-file F]
              [--cwd D] [-e K=V] [-u U[:G]]
      list    [-f table|json] [-q]
      ps      <id> [-f table|json] [PS OPTIONS]
      pause   <id> / resume <id>
      update  <id> -r FILE|-  (a linux.resources JSON object) [--memory N] [--pids-limit N] [--cpu-quota N]
      features
      spec    [-b DIR] [--rootless]

Errors go to stderr (and to ``--log``, as runc does, in text or JSON) and exit with status 1 (``exec``: 255, as
runc's); ``run`` and ``exec`` exit with the container process's status.

This module holds main and the dispatch, and ``run``'s foreground: what ``geedocker-runtime run`` loads. The
flags are ``cli_parser``'s; the other commands' code is in ``cli_exec`` (exec, update), ``cli_query`` (list,
ps) and ``cli_spec`` (features, spec), imported when one of them runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from geedocker.runtime.cli_parser import SPEC_VERSION, VERSION, parser, usage

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import argparse  # at run time through geedocker.argparsing, which imports it its way
    from typing import Any


class _Logger:
    def __init__(self, path: str | None, fmt: str) -> None:
        self.path = path
        self.fmt = fmt

    def error(self, msg: str) -> None:
        if self.path:
            try:
                with open(self.path, "a") as f:
                    from geedocker.timefmt import now_rfc3339

                    now = now_rfc3339()
                    if self.fmt == "json":
                        f.write(json.dumps({"level": "error", "msg": msg, "time": now}) + "\n")
                    else:
                        f.write(f'time="{now}" level=error msg="{msg}"\n')
            except OSError:
                pass
        print(f"geedocker-runtime: {msg}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    log = _Logger(args.log, args.log_format)
    if args.version:
        print(f"geedocker-runtime version {VERSION}\nspec: {SPEC_VERSION}")
        return 0
    if not args.cmd:
        parser().print_usage(sys.stderr)
        return 1
    if args.debug:
        from geedocker import logger

        logger.configure(logger.DEBUG)
    if args.systemd_cgroup:
        log.error("--systemd-cgroup is not supported: geedocker-runtime manages cgroupfs directly")
        return 1
    from geedocker.errors import GeeDockerError, describe

    # runc's exec exits 255 when it fails (the process never ran), so that a caller can tell that from the
    # process's own status; podman and containerd then read the reason from the message.
    failed = 255 if args.cmd == "exec" else 1
    try:
        return _dispatch(args)
    except GeeDockerError as e:
        log.error(describe(e, args.debug))
        return failed
    except OSError as e:
        log.error(str(e))
        return failed
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from geedocker.runtime import container as rt

    root = Path(args.root)
    cmd = args.cmd
    if cmd in ("create", "run") and args.preserve_fds:
        raise usage("--preserve-fds is not supported")
    if cmd == "create":
        rt.create(root, args.id, args.bundle, pid_file=args.pid_file, console_socket=args.console_socket,
                  monitor=False)
        return 0
    if cmd == "run":
        if args.detach:
            rt.create(root, args.id, args.bundle, pid_file=args.pid_file, console_socket=args.console_socket,
                      monitor=True)
            rt.start(root, args.id)
            return 0
        return _run_foreground(rt, root, args)
    if cmd == "start":
        rt.start(root, args.id)
        return 0
    if cmd == "state":
        print(json.dumps(rt.state(root, args.id).to_runc_json(), indent=2))
        return 0
    if cmd == "kill":
        rt.kill(root, args.id, args.signal, all=args.all)
        return 0
    if cmd == "delete":
        from geedocker.errors import ContainerNotFound

        try:
            rt.delete(root, args.id, force=args.force)
        except ContainerNotFound:
            if not args.force:  # runc: with --force, a container that is already gone is not an error
                raise
        return 0
    if cmd == "pause":
        rt.pause(root, args.id)
        return 0
    if cmd == "resume":
        rt.resume(root, args.id)
        return 0
    if cmd == "exec":
        from geedocker.runtime.cli_exec import exec_

        return exec_(rt, root, args)
    if cmd == "update":
        from geedocker.runtime.cli_exec import update_resources

        rt.update(root, args.id, update_resources(args))
        return 0
    if cmd == "list":
        from geedocker.runtime.cli_query import owner

        states = rt.list_(root)
        if args.quiet:
            for s in states:
                print(s.id)
        elif args.format == "json":
            print(json.dumps([dict(s.to_runc_json(), owner=owner(root / s.id)) for s in states]))
        else:
            print(f"{'ID':<20}{'PID':<10}{'STATUS':<10}{'BUNDLE':<40}{'CREATED':<32}OWNER")
            for s in states:
                pid = s.pid if s.status.value != "stopped" else 0
                print(f"{s.id:<20}{pid:<10}{s.status.value:<10}{s.bundle:<40}{s.created:<32}{owner(root / s.id)}")
        return 0
    if cmd == "ps":
        pids = rt.ps(root, args.id)
        if args.format == "json":
            print(json.dumps(pids))
        else:
            from geedocker.runtime.cli_query import ps_table

            ps_table(pids, args.ps_args or ["-ef"])
        return 0
    if cmd == "features":
        from geedocker.runtime.cli_spec import features

        print(json.dumps(features(), indent=2))
        return 0
    if cmd == "spec":
        from geedocker.runtime.cli_spec import spec

        return spec(Path(args.bundle))
    raise usage(f"unknown command {cmd}")


def _run_foreground(rt: Any, root: Path, args: argparse.Namespace) -> int:
    """``run`` without ``--detach``: signals sent to us are forwarded to the container's init, as runc does."""
    import signal

    from geedocker.errors import ContainerError
    from geedocker.runtime import syscalls

    # As runc: we are the container's parent (a child subreaper, since the init's own parent exits), so
    # no monitor process is needed; wait() reaps the init and records its exit status.
    syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
    rt.create(root, args.id, args.bundle, pid_file=args.pid_file, console_socket=args.console_socket, monitor=False)

    def forward(signum: int, _frame: object) -> None:
        try:
            rt.kill(root, args.id, signum)
        except ContainerError:
            pass

    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, forward)
        rt.start(root, args.id)
        code = int(rt.wait(root, args.id))
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        if not args.keep:
            try:
                rt.delete(root, args.id, force=True)
            except ContainerError:
                pass
    return code


if __name__ == "__main__":
    from geedocker.entrypoint import run_main

    run_main(main)
