"""``geedocker create [OPTIONS] IMAGE [COMMAND] [ARG...]``; the flags are shared with ``run``."""

from __future__ import annotations

import argparse
import contextlib
import sys

from geedocker.cli.network_flags import add_network_flags, network_options_from_args
from geedocker.containers.options import RunOptions

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from geedocker.containers.create import RootfsSource


def add_container_flags(p: argparse.ArgumentParser) -> None:
    _free_dash_h(p)  # docker's -h is --hostname; --help stays
    a = p.add_argument
    a("-i", "--interactive", action="store_true", help="keep STDIN open")
    a("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    a("--name", default="", help="assign a name to the container")
    a("--gpus", default="", help="refused: geedocker has no GPU support")
    a("-e", "--env", action="append", default=[], help="set environment variables")
    a("--env-file", action="append", default=[], help="read in a file of environment variables")
    a("-w", "--workdir", default="", help="working directory inside the container")
    a("-u", "--user", default="", help="username or UID (format: <name|uid>[:<group|gid>])")
    a("-h", "--hostname", default="", help="container host name")
    a("--entrypoint", default=None, help="overwrite the default ENTRYPOINT of the image")
    a("--read-only", action="store_true", help="mount the container's root filesystem as read only")
    a("-v", "--volume", action="append", default=[], help="bind mount a volume (/host:/ctr, NAME:/ctr, /ctr[:ro])")
    a("--mount", action="append", default=[], help="attach a filesystem mount (type=bind|volume|tmpfs,...)")
    a("--volumes-from", action="append", default=[], help="mount volumes from the specified container(s)")
    a("--tmpfs", action="append", default=[], help="mount a tmpfs directory (/path[:options])")
    a("-m", "--memory", default=None, help="memory limit")
    a("--memory-swap", default=None, help="swap limit equal to memory plus swap: -1 for unlimited")
    a("--cpus", default=None, help="number of CPUs")
    a("-c", "--cpu-shares", type=int, default=None, help="CPU shares (relative weight)")
    a("--health-cmd", default=None, help="command to run to check health")
    a("--health-interval", default=None, help="time between running the check (ms|s|m|h)")
    a("--health-timeout", default=None, help="maximum time to allow one check to run (ms|s|m|h)")
    a("--health-retries", type=int, default=None, help="consecutive failures needed to report unhealthy")
    a("--health-start-period", default=None, help="start period for the container to initialize (ms|s|m|h)")
    a("--no-healthcheck", action="store_true", help="disable any container-specified HEALTHCHECK")
    a("--restart", default="", help="restart policy: no, always, unless-stopped, on-failure[:max-retries]")
    a("--pids-limit", type=int, default=None, help="tune container pids limit (-1 for unlimited)")
    a("--init", action="store_true", help="run an init (tini, catatonit) as pid 1: forwards signals, reaps")
    a("--stop-signal", default="", help="signal to stop the container")
    a("--stop-timeout", type=int, default=None, help="timeout (in seconds) to stop a container")
    a("--network", "--net", default="bridge", help="network: bridge, none, host, container:NAME or a network's name")
    add_network_flags(p)  # network flags (geedocker.cli.network_flags)
    a("--cap-add", action="append", default=[], help="add Linux capabilities")
    a("--cap-drop", action="append", default=[], help="drop Linux capabilities")
    a("--privileged", action="store_true", help="give extended privileges to this container")
    a("--security-opt", action="append", default=[],
      help="security options (no-new-privileges, seccomp=unconfined|PROFILE.json)")
    a("-l", "--label", action="append", default=[], help="set meta data on a container")
    a("--group-add", action="append", default=[], help="add additional groups to join")
    a("--ulimit", action="append", default=[], help="ulimit options (nofile=1024:2048)")
    a("--sysctl", action="append", default=[], help="namespaced kernel parameters (net.ipv4.ip_forward=1)")
    a("--shm-size", default=None, help="size of /dev/shm (default 64m)")
    a("--pull", default="missing", help="pull image before running (always, missing, never)")
    a("--platform", default="", help="os/arch[/variant]: the image's variant to use (pulled when not the local one)")
    a("-a", "--attach", action="append", default=[], help="attach to STDIN, STDOUT or STDERR")
    a("--cidfile", default="", help="write the container ID to the file")
    a("--expose", action="append", default=[], help="expose a port or a range of ports")
    a("--device", action="append", default=[], help="add a host device to the container (HOST[:CONTAINER][:rwm])")
    a("--log-driver", default="", help="logging driver for the container (json-file, local, none)")
    a("--log-opt", action="append", default=[], help="log driver options (max-size, max-file, ...)")
    a("--rootfs", action="store_true", help="IMAGE is a root filesystem directory, not an image")
    a("image", metavar="IMAGE")
    a("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def _free_dash_h(p: argparse.ArgumentParser) -> None:
    for action in p._actions:
        if "-h" in action.option_strings and isinstance(action, argparse._HelpAction):
            action.option_strings = [o for o in action.option_strings if o != "-h"]
            p._option_string_actions.pop("-h", None)


def options_from_args(args: argparse.Namespace, *, detach: bool = False, rm: bool = False) -> RunOptions:
    """Validate the flags into a RunOptions (``UsageError``, exit 125, on a bad value)."""
    from geedocker.containers import flags, logflags, mountflags
    from geedocker.errors import UsageError

    if getattr(args, "gpus", ""):
        raise UsageError(f"--gpus {args.gpus}: GPUs are not supported by geedocker (it has no device driver for "
                         "them; --device passes a device node through)")

    env: list[str] = []
    for f in args.env_file:
        env += flags.parse_env_file(f)
    env += flags.parse_env_list(args.env)
    mounts = [mountflags.parse_volume(_absolute_source(v)) for v in args.volume]
    mounts += [mountflags.parse_mount(m) for m in args.mount]
    mounts += [mountflags.parse_tmpfs(t) for t in args.tmpfs]
    mountflags.check_mount_points(mounts)
    if args.volumes_from:
        from geedocker.containers.volumes import parse_volumes_from

        for v in args.volumes_from:
            parse_volumes_from(v)
    memory, swap = flags.parse_memory(args.memory, args.memory_swap)
    from geedocker.containers.seccomp import parse_security_opts

    security_opt, nnp = parse_security_opts(args.security_opt)
    net = network_options_from_args(args)  # network flags (geedocker.cli.network_flags)
    if args.stop_signal:
        flags.parse_signal(args.stop_signal)
    for c in [*args.cap_add, *args.cap_drop]:
        flags.normalize_capability(c)
    if args.pids_limit is not None and args.pids_limit < -1:
        raise UsageError(f"invalid --pids-limit {args.pids_limit}")
    attach = []
    for stream in args.attach:
        if stream.lower() not in ("stdin", "stdout", "stderr"):
            raise UsageError(f'invalid argument "{stream}" for "-a, --attach" flag: valid streams are STDIN, '
                             "STDOUT and STDERR")  # fmt: skip
        attach.append(stream.lower())
    if attach and detach:
        conflict = UsageError("conflicting options: cannot specify both --attach and --detach")
        conflict.exit_code = 1  # docker 28's status for it
        raise conflict
    if args.pull not in ("missing", "always", "never"):
        raise UsageError(f"invalid pull option: '{args.pull}': must be one of \"always\", \"missing\" or \"never\"")
    expose = sorted({p for e in args.expose for p in flags.parse_expose(e)})
    log_driver, log_opts = logflags.parse_log_options(args.log_driver, args.log_opt)
    if args.platform:
        from geedocker.errors import GeeDockerError
        from geedocker.oci import Platform

        try:
            Platform.parse(args.platform)
        except GeeDockerError as e:
            raise UsageError(str(e)) from e
    labels = []
    for item in args.label:
        k, _, v = item.partition("=")
        if not k:
            raise UsageError(f"invalid label {item!r}")
        labels.append((k, v))
    if args.name:
        flags.validate_name(args.name)
    if args.workdir and not args.workdir.startswith("/"):
        raise UsageError(f"the working directory {args.workdir!r} is invalid, it needs to be an absolute path")
    return RunOptions(
        name=args.name.lstrip("/"),
        command=tuple(args.command),
        entrypoint=args.entrypoint,
        env=tuple(env),
        workdir=args.workdir,
        user=args.user,
        hostname=args.hostname,
        read_only=args.read_only,
        mounts=tuple(mounts),
        volumes_from=tuple(args.volumes_from),
        memory=memory,
        memory_swap=swap,
        nano_cpus=flags.parse_cpus(args.cpus),
        cpu_shares=flags.check_cpu_shares(args.cpu_shares),
        restart=_restart_policy(args.restart, rm),
        health=_health(args),
        pids_limit=args.pids_limit,
        init=args.init,
        stop_signal=args.stop_signal,
        stop_timeout=args.stop_timeout,
        tty=args.tty,
        interactive=args.interactive,
        detach=detach,
        rm=rm,
        net=net,
        cap_add=tuple(args.cap_add),
        cap_drop=tuple(args.cap_drop),
        privileged=args.privileged,
        no_new_privileges=nnp,
        security_opt=security_opt,
        labels=tuple(sorted(labels)),
        group_add=tuple(args.group_add),
        ulimits=tuple(flags.parse_ulimit(u) for u in args.ulimit),
        sysctls=tuple(sorted(flags.parse_sysctl(x) for x in args.sysctl)),
        shm_size=flags.parse_bytes(args.shm_size, "--shm-size") if args.shm_size else None,
        devices=tuple(flags.parse_device(d) for d in args.device),
        log_driver=log_driver,
        log_opts=log_opts,
        cidfile=args.cidfile,
        expose=tuple(expose),
        attach=tuple(dict.fromkeys(attach)),
    )


def _absolute_source(volume: str) -> str:
    """As docker's CLI (23+): a ``-v`` source starting with "." is a host path relative to the working directory
    (any other relative source is a volume's name; ``--mount`` takes absolute paths only)."""
    import os

    src, sep, rest = volume.partition(":")
    return os.path.abspath(src) + sep + rest if sep and src.startswith(".") else volume


def _health(args: argparse.Namespace) -> str:
    import json

    from geedocker.containers.health import check, parse_duration
    from geedocker.errors import UsageError

    hc: dict[str, object] = {}
    if args.no_healthcheck:
        if args.health_cmd:
            raise UsageError("--no-healthcheck conflicts with --health-* options")
        return json.dumps({"Test": ["NONE"]})
    if args.health_cmd:
        hc["Test"] = ["CMD-SHELL", args.health_cmd]
    for flag, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod")):
        text = getattr(args, f"health_{flag}")
        if text:
            hc[key] = parse_duration(text, "--health-" + flag.replace("_", "-"))
    if args.health_retries is not None:
        if args.health_retries < 0:
            raise UsageError("--health-retries cannot be negative")
        hc["Retries"] = args.health_retries
    return json.dumps(check(hc)) if hc else ""  # dockerd's checks (a duration under 1ms), shared with the API


def _restart_policy(text: str, rm: bool) -> str:
    from geedocker.containers import restart
    from geedocker.errors import UsageError

    policy = restart.parse(text)
    if policy and rm:
        raise UsageError("Conflicting options: --restart and --rm")
    return policy


def source_from_args(args: argparse.Namespace) -> RootfsSource:
    """The container's RootfsSource: ``--rootfs DIR`` or the image (pulled when missing)."""
    from geedocker.cli.common import layout_of
    from geedocker.containers import images

    if args.rootfs:
        return images.from_directory(args.image)

    def said(name: str) -> None:
        print(f"Unable to find image '{name}' locally", file=sys.stderr)

    return images.from_image(layout_of(args), args.image, pull=args.pull, on_pull=said, platform=args.platform)


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] IMAGE [COMMAND] [ARG...]"  # docker's usage line
    add_container_flags(p)


def run(args: argparse.Namespace) -> int:
    """A bad flag exits 125; what docker's daemon refuses (a missing image, a name in use, the cidfile...) exits
    1, as docker's ``create`` does (its ``run`` exits 125 for them)."""
    from geedocker.cli.common import layout_of
    from geedocker.containers import images
    from geedocker.containers.create import create
    from geedocker.errors import DaemonRefusal, GeeDockerError

    try:
        opts = options_from_args(args)
    except DaemonRefusal as e:
        e.exit_code = 1
        raise
    source = images.from_directory(args.image) if args.rootfs else None  # geedocker's own flag: checked as one
    try:
        with cidfile(opts.cidfile) as write_id:
            rec = create(layout_of(args), source or source_from_args(args), opts)
            write_id(rec.id)
    except GeeDockerError as e:
        e.exit_code = 1
        raise
    from geedocker.containers import rootfs

    rootfs.unmount(layout_of(args).container_dir(rec.id) / "rootfs")
    print(rec.id)
    return 0


@contextlib.contextmanager
def cidfile(path: str) -> Iterator[Callable[[str], None]]:
    """``--cidfile``: refused when the file is there (docker's words), made before the container so that a file
    that cannot be written stops it, and removed again when the container is not made. Yields the function that
    writes the id."""
    import os

    from geedocker.errors import UsageError

    if not path:
        yield lambda _cid: None
        return
    if os.path.exists(path):
        raise UsageError(f"container ID file found, make sure the other container isn't running or delete {path}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise UsageError(f"failed to create the container ID file: open {path}: "
                         f"{(e.strerror or str(e)).lower()}") from e  # fmt: skip
    written = False

    def write(cid: str) -> None:
        nonlocal written
        os.write(fd, cid.encode())
        written = True

    try:
        yield write
    finally:
        os.close(fd)
        if not written:
            with contextlib.suppress(OSError):
                os.unlink(path)
