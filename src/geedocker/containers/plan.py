"""What the engine decides for a container, once: ``ContainerPlan`` (at create, before anything is made) and
``Resolved`` (once its root filesystem is mounted), the two values ``containers.spec.build_spec`` turns into
config.json.

``make_plan`` is pure: the host facts it decides from (the node name, the kernel's capabilities, the
``--init`` binary) are handed to it; ``host_capabilities``, ``find_init_binary`` and ``host_devices`` look
them up. The container's record is written from the plan (command, hostname, stop signal and timeout), so
what ``inspect`` shows and what the process gets cannot differ.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from geedocker.containers.flags import normalize_capability, parse_signal
from geedocker.containers.options import MountSpec, RunOptions
from geedocker.containers.users import ProcessUser
from geedocker.errors import DaemonRefusal, UsageError
from geedocker.oci import ContainerConfig
from geedocker.runtime.capabilities import DEFAULT_CAPABILITIES, last_cap
from geedocker.runtime.capabilities import NAMES as ALL_CAPABILITIES
from geedocker.runtime.cgroups.base import OWN_PARENT
from geedocker.values import field, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_STOP_TIMEOUT = 10
INIT_DESTINATION = "/sbin/docker-init"
INIT_CANDIDATES = ("docker-init", "tini-static", "tini", "catatonit", "/usr/libexec/podman/catatonit")


@value
class ContainerPlan:
    """The engine's decisions for one container, made once at create from the image's config and the flags.

    ``options`` keeps the flags the spec takes as they are (limits, security options, sysctls, labels...);
    where the plan decides a value (command, env, workdir, hostname, capabilities, stop signal), the plan's
    field is the truth, not the flag it came from."""

    id: str
    command: tuple[str, ...]  # docker's Entrypoint/Cmd rules (``docker-init --`` goes in front with --init)
    env: tuple[str, ...]  # the daemon's PATH/HOSTNAME/TERM, the image's, then -e (HOME comes with the user)
    workdir: str
    hostname: str
    user: str  # --user, else the image's USER ("" is root): looked up in the rootfs (``Resolved.user``)
    stop_signal: int
    stop_timeout: int
    capabilities: tuple[str, ...]
    cgroups_path: str
    init_path: str = ""  # --init: the host's init binary, bind-mounted read-only at INIT_DESTINATION
    options: RunOptions = field(default_factory=RunOptions)


@value
class Resolved:
    """What the engine finds once the container's root filesystem is mounted (``rootfs``): the user in the
    image's /etc/passwd and /etc/group (--group-add included), the mounts as the runtime takes them (a volume
    as a bind of its ``_data``), the file the engine wrote for /etc/hostname and, for --privileged, the
    host's devices."""

    rootfs: str
    user: ProcessUser
    mounts: tuple[MountSpec, ...] = ()
    hostname_file: str = ""
    devices: tuple[dict[str, Any], ...] = ()


def make_plan(
    cid: str,
    image: ContainerConfig,
    opts: RunOptions,
    *,
    nodename: str,
    known_capabilities: tuple[str, ...],
    init_path: str | None = None,
) -> ContainerPlan:
    """Decide container ``cid``'s process from ``image`` and ``opts``; ``UsageError`` for what docker refuses
    (no init binary for --init, no command, a relative working dir, an unknown stop signal or capability)."""
    if opts.init and not init_path:
        raise UsageError("--init: no init binary found (install catatonit or tini, or set GEEDOCKER_INIT_PATH)")
    command = resolve_command(image, opts)
    workdir = resolve_workdir(image, opts)
    stop_signal = resolve_stop_signal(image, opts)
    hostname = opts.hostname or (nodename if opts.network == "host" else cid[:12])
    return ContainerPlan(
        id=cid,
        command=tuple(command),
        env=tuple(resolve_env(image, opts, hostname)),
        workdir=workdir,
        hostname=hostname,
        user=opts.user or image.user,
        stop_signal=stop_signal,
        stop_timeout=opts.stop_timeout if opts.stop_timeout is not None else DEFAULT_STOP_TIMEOUT,
        capabilities=tuple(capabilities(opts, known_capabilities)),
        cgroups_path=engine_cgroups_path(cid),
        init_path=(init_path or "") if opts.init else "",
        options=opts,
    )


def engine_cgroups_path(cid: str) -> str:
    """The cgroup of an engine's container, as its config.json gives it to the runtime."""
    return f"/{OWN_PARENT}/{cid}"


def host_capabilities() -> tuple[str, ...]:
    """Every capability the running kernel knows."""
    return ALL_CAPABILITIES[: last_cap() + 1]


def capabilities(opts: RunOptions, known: tuple[str, ...] | None = None) -> list[str]:
    """Docker's rules: defaults, minus --cap-drop, plus --cap-add; ALL on either side; --privileged = all."""
    everything = list(known if known is not None else host_capabilities())
    if opts.privileged:
        return everything
    add = [normalize_capability(c) for c in opts.cap_add]
    drop = [normalize_capability(c) for c in opts.cap_drop]
    if "ALL" in add:
        base = everything
        return [c for c in base if c not in drop]
    base = [] if "ALL" in drop else [c for c in DEFAULT_CAPABILITIES if c not in drop]
    for c in add:
        if c not in base and c in everything:
            base.append(c)
    return base


def resolve_command(image: ContainerConfig, opts: RunOptions) -> list[str]:
    """Docker's Entrypoint/Cmd rules; an empty result is an error."""
    entrypoint = list(image.entrypoint or ())
    cmd = list(image.cmd or ())
    if opts.entrypoint is not None:
        entrypoint = [opts.entrypoint] if opts.entrypoint else []
        cmd = []
    if opts.command:
        cmd = list(opts.command)
    argv = entrypoint + cmd
    if not argv:
        raise UsageError("No command specified")
    return argv


def _env_key(item: str) -> str:
    return item.partition("=")[0]


def merge_env(base: Iterable[str], *overrides: Iterable[str]) -> list[str]:
    """Later values replace earlier ones with the same key, keeping the first position."""
    out: list[str] = []
    index: dict[str, int] = {}
    for item in [*base, *(x for o in overrides for x in o)]:
        k = _env_key(item)
        if k in index:
            out[index[k]] = item
        else:
            index[k] = len(out)
            out.append(item)
    return out


def resolve_env(image: ContainerConfig, opts: RunOptions, hostname: str) -> list[str]:
    """The daemon's variables, the image's, then the flags' (later ones win, keeping the first position)."""
    daemon = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if opts.tty:
        daemon.append("TERM=xterm")
    return merge_env(daemon, image.env, opts.env)


def with_home(env: Iterable[str], user: ProcessUser) -> list[str]:
    """``env`` with HOME set to the user's home directory unless it sets HOME itself."""
    out = list(env)
    if not any(_env_key(e) == "HOME" for e in out):
        out.append(f"HOME={user.home or '/'}")
    return out


def resolve_workdir(image: ContainerConfig, opts: RunOptions) -> str:
    wd = opts.workdir or image.working_dir or "/"
    if not wd.startswith("/"):
        raise UsageError(f"the working directory {wd!r} is invalid: it needs to be an absolute path")
    return os.path.normpath(wd)


def resolve_stop_signal(image: ContainerConfig, opts: RunOptions) -> int:
    return parse_signal(opts.stop_signal or image.stop_signal or "SIGTERM")


def find_init_binary(environ: Mapping[str, str] | None = None) -> str | None:
    """The init for ``--init``: $GEEDOCKER_INIT_PATH, else docker-init, tini or catatonit on the host."""
    import shutil

    env = os.environ if environ is None else environ
    if env.get("GEEDOCKER_INIT_PATH"):
        return env["GEEDOCKER_INIT_PATH"]
    for name in INIT_CANDIDATES:
        found = shutil.which(name) if not name.startswith("/") else (name if os.access(name, os.X_OK) else None)
        if found:
            return os.path.realpath(found)
    return None


def host_devices(dev: Path = Path("/dev")) -> list[dict[str, Any]]:
    """The host's top-level character and block devices (for --privileged)."""
    import stat

    out: list[dict[str, Any]] = []
    try:
        names = sorted(os.listdir(dev))
    except OSError:
        return out
    for name in names:
        if name in ("console", "ptmx", "tty", "pts", "shm", "mqueue", "core", "fd", "stdin", "stdout", "stderr"):
            continue
        try:
            st = os.lstat(dev / name)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            out.append(
                {
                    "path": f"/dev/{name}",
                    "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                    "major": os.major(st.st_rdev),
                    "minor": os.minor(st.st_rdev),
                    "fileMode": stat.S_IMODE(st.st_mode),
                    "uid": st.st_uid,
                    "gid": st.st_gid,
                }
            )
    return out


def custom_devices(devices: Iterable[tuple[str, str, str]], *, missing_ok: bool = False) -> list[dict[str, Any]]:
    """``--device``: each host node as ``linux.devices`` takes it, at its container path, with the cgroup
    permissions to grant under ``access``; a directory gives every node under it, at the same place under the
    container path (as docker's); docker's error for a path that is neither, or that is not there (left out with
    ``missing_ok``). A missing node's error has the status of docker's ``run`` for it (127: its CLI's for a
    start error naming a missing file)."""
    import stat

    def node(path: str, dest: str, perms: str, st: os.stat_result) -> dict[str, Any]:
        return {
            "path": dest, "type": "c" if stat.S_ISCHR(st.st_mode) else "b", "major": os.major(st.st_rdev),
            "minor": os.minor(st.st_rdev), "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
            "access": perms,
        }  # fmt: skip

    out: list[dict[str, Any]] = []
    for host, dest, perms in devices:
        try:
            st = os.stat(host)
        except OSError as e:
            if missing_ok:
                continue
            err = DaemonRefusal(f'error gathering device information while adding custom device "{host}": '
                                f"{(e.strerror or str(e)).lower()}")  # fmt: skip
            err.exit_code = 127 if "no such file or directory" in err.message else err.exit_code
            raise err from e
        if stat.S_ISDIR(st.st_mode):
            for d, _dirs, files in os.walk(host):
                for name in sorted(files):
                    path = os.path.join(d, name)
                    try:
                        sub = os.lstat(path)
                    except OSError:
                        continue
                    if stat.S_ISCHR(sub.st_mode) or stat.S_ISBLK(sub.st_mode):
                        out.append(node(path, os.path.join(dest, os.path.relpath(path, host)), perms, sub))
            continue
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise DaemonRefusal(f'error gathering device information while adding custom device "{host}": '
                                "not a device node")  # fmt: skip
        out.append(node(host, dest, perms, st))
    return out
