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
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from geedocker.argparsing import REMAINDER, ArgumentParser

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import argparse  # at run time through geedocker.argparsing, which imports it its way
    from typing import Any

VERSION = "0.1.0"
SPEC_VERSION = "1.2.0"
DEFAULT_ROOT = "/run/geedocker-runtime"


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


class _RuntimeParser(ArgumentParser):
    """A bad or unknown flag exits 1, as runc's does."""

    usage_exit_code = 1


def _parser() -> argparse.ArgumentParser:
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
    _exec_options(e)
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


def _exec_options(e: argparse.ArgumentParser) -> None:
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log = _Logger(args.log, args.log_format)
    if args.version:
        print(f"geedocker-runtime version {VERSION}\nspec: {SPEC_VERSION}")
        return 0
    if not args.cmd:
        _parser().print_usage(sys.stderr)
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
        raise _usage("--preserve-fds is not supported")
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
        return _exec(rt, root, args)
    if cmd == "update":
        rt.update(root, args.id, _update_resources(args))
        return 0
    if cmd == "list":
        states = rt.list_(root)
        if args.quiet:
            for s in states:
                print(s.id)
        elif args.format == "json":
            print(json.dumps([dict(s.to_runc_json(), owner=_owner(root / s.id)) for s in states]))
        else:
            print(f"{'ID':<20}{'PID':<10}{'STATUS':<10}{'BUNDLE':<40}{'CREATED':<32}OWNER")
            for s in states:
                pid = s.pid if s.status.value != "stopped" else 0
                print(f"{s.id:<20}{pid:<10}{s.status.value:<10}{s.bundle:<40}{s.created:<32}{_owner(root / s.id)}")
        return 0
    if cmd == "ps":
        pids = rt.ps(root, args.id)
        if args.format == "json":
            print(json.dumps(pids))
        else:
            _ps_table(pids, args.ps_args or ["-ef"])
        return 0
    if cmd == "features":
        print(json.dumps(features(), indent=2))
        return 0
    if cmd == "spec":
        return _spec(Path(args.bundle))
    raise _usage(f"unknown command {cmd}")


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


def _owner(state_dir: Path) -> str:
    """runc's ``owner`` in ``list``: the name of the user owning the container's state dir (``#uid`` without one)."""
    import pwd  # here: only ``list`` needs it

    try:
        uid = state_dir.stat().st_uid
    except OSError:
        return ""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"


def _ps_table(pids: list[int], ps_args: list[str]) -> None:
    """runc's table: the host's ``ps`` output (``-ef`` unless given) cut to the header and the container's
    processes, found by the PID column."""
    import subprocess  # here: only ``ps`` runs it

    try:
        out = subprocess.run(["ps", *ps_args], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise _usage(f"running ps {' '.join(ps_args)}: {e}") from e
    lines = out.splitlines()
    if not lines or "PID" not in lines[0].split():
        raise _usage(f"ps {' '.join(ps_args)}: no PID column in its output")
    col = lines[0].split().index("PID")
    wanted = set(pids)
    print(lines[0])
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in wanted:
            print(line)


def _usage(msg: str) -> Exception:
    from geedocker.errors import UsageError

    return UsageError(msg)


def _exec(rt: Any, root: Path, args: argparse.Namespace) -> int:
    if args.command[:1] and args.command[0].startswith("-") and args.command[0] != "--":
        # Options after the id (``exec ID --process F``): parse them off the front.
        extra = ArgumentParser(add_help=False, strict=False)
        _exec_options(extra)
        args.command = extra.parse_known_args(args.command, namespace=args)[1]
    if args.preserve_fds:
        raise _usage("--preserve-fds is not supported")
    if args.process:
        with open(args.process, "rb") as f:
            proc: dict[str, Any] = json.loads(f.read(1 << 20))
    else:
        command = args.command[1:] if args.command[:1] == ["--"] else list(args.command)
        if not command:
            raise _usage("exec needs --process or a command")
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


def _update_resources(args: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if args.resources:
        raw = sys.stdin.read(1 << 20) if args.resources == "-" else Path(args.resources).read_text()
        loaded = json.loads(raw)
        if not isinstance(loaded, dict):
            raise _usage("--resources: expected a JSON object")
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


def features() -> dict[str, Any]:
    from geedocker.runtime import capabilities, namespaces, rootfs, seccomp

    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": sorted(set(rootfs.FLAG_OPTIONS) | set(rootfs.PROPAGATION)),
        "linux": {
            "namespaces": sorted(namespaces.FLAGS),
            "capabilities": list(capabilities.NAMES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {"enabled": seccomp.available(), "actions": sorted(seccomp.ACTIONS),
                        "operators": sorted(seccomp.OPS)},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
        },
        "annotations": {"org.opencontainers.runtime-spec.features.name": "geedocker-runtime",
                        "io.geedocker.runtime.version": VERSION},
    }


def _spec(bundle: Path) -> int:
    path = bundle / "config.json"
    if path.exists():
        raise _usage(f"{path} already exists")
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    cfg = {
        "ociVersion": SPEC_VERSION,
        "process": {
            "terminal": True, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/", "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "geedocker",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                            "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    path.write_text(json.dumps(cfg, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    from geedocker.entrypoint import run_main

    run_main(main)
