"""Docker's run options, and the OCI runtime-spec ``config.json`` they make with an image's config.

``build_spec`` is pure: everything it needs (the resolved user, the container id) is handed to it.
Its output follows runc's default spec (``runc spec``) with docker's changes: docker's 14 default
capabilities, masked and read-only /proc paths, a private mount/pid/uts/ipc/network/cgroup namespace.

Networking: ``--network host`` shares the host's network namespace; ``none`` and the default
(``bridge``) both give a private network namespace with only loopback (brought up by the runtime)
until the bridge driver is wired in.
"""

from __future__ import annotations

import os
import re
import signal as _signal
from collections.abc import Iterable, Mapping
from pathlib import Path

from geedocker.errors import UsageError
from geedocker.network.options import NetworkOptions
from geedocker.oci import ContainerConfig, ImageConfig
from geedocker.values import field, value

# The spec's pieces (capabilities, cgroups, seccomp, rlimits) load when a spec is made or an option checked: every
# command that reads a container record (ps, inspect, logs, stop, rm) loads RunOptions from here, and not them.
TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

    from geedocker.containers.users import ProcessUser

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_STOP_TIMEOUT = 10
OCI_VERSION = "1.0.2"
MIN_MEMORY = 6 * 1024 * 1024
INIT_DESTINATION = "/sbin/docker-init"
INIT_CANDIDATES = ("docker-init", "tini-static", "tini", "catatonit", "/usr/libexec/podman/catatonit")

MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
)  # fmt: skip
READONLY_PATHS: tuple[str, ...] = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

_NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_ENV_KEY_RE = re.compile(r"^[^=\s]+$")


@value
class MountSpec:
    """A mount asked for with -v, --mount, --tmpfs, --volumes-from or an image's VOLUME.

    For ``type == "volume"`` the source is the volume's name ("" for a new anonymous one, named at create)."""

    type: str  # "bind", "tmpfs" or "volume"
    target: str
    source: str = ""
    readonly: bool = False
    options: tuple[str, ...] = ()
    mode: str = ""  # docker's Mode in inspect's Mounts ("z", "ro", ...)
    nocopy: bool = False  # volume: do not seed a new volume with the image's content
    volume_options: tuple[tuple[str, str], ...] = ()  # volume: --mount volume-opt=K=V (driver options)
    volume_labels: tuple[tuple[str, str], ...] = ()  # volume: --mount volume-label=K=V

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "Type": self.type,
            "Source": self.source,
            "Destination": self.target,
            "RW": not self.readonly,
            "Options": list(self.options),
        }
        if self.mode:
            d["Mode"] = self.mode
        if self.nocopy:
            d["NoCopy"] = True
        if self.volume_options:
            d["VolumeOptions"] = dict(self.volume_options)
        if self.volume_labels:
            d["VolumeLabels"] = dict(self.volume_labels)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> MountSpec:
        return cls(
            type=str(d["Type"]),
            target=str(d["Destination"]),
            source=str(d.get("Source", "")),
            readonly=not d.get("RW", True),
            options=tuple(str(x) for x in d.get("Options", ())),
            mode=str(d.get("Mode", "")),
            nocopy=bool(d.get("NoCopy", False)),
            volume_options=tuple(sorted((d.get("VolumeOptions") or {}).items())),
            volume_labels=tuple(sorted((d.get("VolumeLabels") or {}).items())),
        )


@value
class RunOptions:
    """Docker's create/run flags, parsed and validated (see ``geedocker.cli.create`` for the flags)."""

    name: str = ""
    command: tuple[str, ...] = ()  # the arguments after the image: they replace its Cmd
    entrypoint: str | None = None  # --entrypoint; "" resets the image's entrypoint
    env: tuple[str, ...] = ()  # KEY=VALUE from --env-file then -e, in order
    workdir: str = ""
    user: str = ""
    hostname: str = ""
    read_only: bool = False
    mounts: tuple[MountSpec, ...] = ()
    volumes_from: tuple[str, ...] = ()  # --volumes-from CONTAINER[:ro|rw] (their mounts are in ``mounts`` once made)
    memory: int | None = None  # bytes
    memory_swap: int | None = None  # bytes, memory + swap; -1 unlimited
    nano_cpus: int | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    health: str = ""  # --health-* / --no-healthcheck: a JSON Healthcheck that overrides the image's
    restart: str = ""  # --restart: no, always, unless-stopped, on-failure[:N] (see geedocker.containers.restart)
    init: bool = False
    stop_signal: str = ""
    stop_timeout: int | None = None
    tty: bool = False
    interactive: bool = False
    detach: bool = False
    rm: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()  # names or gids, resolved in the image's /etc/group
    ulimits: tuple[tuple[str, int, int], ...] = ()  # (RLIMIT_NAME, soft, hard)
    sysctls: tuple[tuple[str, str], ...] = ()
    shm_size: int | None = None
    privileged: bool = False
    no_new_privileges: bool = False
    security_opt: tuple[str, ...] = ()  # as docker's HostConfig.SecurityOpt (a profile file as its JSON)
    labels: tuple[tuple[str, str], ...] = field(default=())
    net: NetworkOptions = field(default_factory=NetworkOptions)  # -p, -P, --ip, --dns... (geedocker.network)

    @property
    def network(self) -> str:
        """``--network``: bridge, none, host, container:NAME or a network's name (one truth: ``net.mode``)."""
        return self.net.mode

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "command": list(self.command),
            "entrypoint": self.entrypoint,
            "env": list(self.env),
            "workdir": self.workdir,
            "user": self.user,
            "hostname": self.hostname,
            "read_only": self.read_only,
            "mounts": [m.to_json() for m in self.mounts],
            "volumes_from": list(self.volumes_from),
            "memory": self.memory,
            "memory_swap": self.memory_swap,
            "nano_cpus": self.nano_cpus,
            "cpu_shares": self.cpu_shares,
            "restart": self.restart,
            "health": self.health,
            "pids_limit": self.pids_limit,
            "init": self.init,
            "stop_signal": self.stop_signal,
            "stop_timeout": self.stop_timeout,
            "tty": self.tty,
            "interactive": self.interactive,
            "detach": self.detach,
            "rm": self.rm,
            "cap_add": list(self.cap_add),
            "cap_drop": list(self.cap_drop),
            "group_add": list(self.group_add),
            "ulimits": [list(u) for u in self.ulimits],
            "sysctls": dict(self.sysctls),
            "shm_size": self.shm_size,
            "privileged": self.privileged,
            "no_new_privileges": self.no_new_privileges,
            "security_opt": list(self.security_opt),
            "labels": dict(self.labels),
            "net": self.net.to_json(),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RunOptions:
        return cls(
            name=str(d.get("name", "")),
            command=tuple(d.get("command", ())),
            entrypoint=d.get("entrypoint"),
            env=tuple(d.get("env", ())),
            workdir=str(d.get("workdir", "")),
            user=str(d.get("user", "")),
            hostname=str(d.get("hostname", "")),
            read_only=bool(d.get("read_only", False)),
            mounts=tuple(MountSpec.from_json(m) for m in d.get("mounts", ())),
            volumes_from=tuple(d.get("volumes_from", ())),
            memory=d.get("memory"),
            memory_swap=d.get("memory_swap"),
            nano_cpus=d.get("nano_cpus"),
            cpu_shares=d.get("cpu_shares"),
            restart=str(d.get("restart", "")),
            health=str(d.get("health", "")),
            pids_limit=d.get("pids_limit"),
            init=bool(d.get("init", False)),
            stop_signal=str(d.get("stop_signal", "")),
            stop_timeout=d.get("stop_timeout"),
            tty=bool(d.get("tty", False)),
            interactive=bool(d.get("interactive", False)),
            detach=bool(d.get("detach", False)),
            rm=bool(d.get("rm", False)),
            cap_add=tuple(d.get("cap_add", ())),
            cap_drop=tuple(d.get("cap_drop", ())),
            group_add=tuple(d.get("group_add", ())),
            ulimits=tuple((str(u[0]), int(u[1]), int(u[2])) for u in d.get("ulimits", ())),
            sysctls=tuple(sorted((d.get("sysctls") or {}).items())),
            shm_size=d.get("shm_size"),
            privileged=bool(d.get("privileged", False)),
            no_new_privileges=bool(d.get("no_new_privileges", False)),
            security_opt=tuple(d.get("security_opt", ())),
            labels=tuple(sorted((d.get("labels") or {}).items())),
            net=NetworkOptions.from_json(d.get("net")),
        )


# ---------------------------------------------------------------- parsing flag values


_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def parse_bytes(text: str, flag: str = "value") -> int:
    """Docker's RAMInBytes: ``512m``, ``1g``, ``1.5GB``, ``1024`` (binary units)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtpb]?)(?:i?b)?\s*", text.lower())
    if not m:
        raise UsageError(f"invalid {flag} {text!r}: expected a size such as 512m or 1g")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def parse_memory(memory: str | None, swap: str | None) -> tuple[int | None, int | None]:
    mem = parse_bytes(memory, "--memory") if memory else None
    if mem is not None and mem == 0:
        mem = None
    if mem is not None and mem < MIN_MEMORY:
        raise UsageError("Minimum memory limit allowed is 6MB")
    sw: int | None = None
    if swap:
        sw = -1 if swap.strip() == "-1" else parse_bytes(swap, "--memory-swap")
        if mem is None:
            raise UsageError("You should always set the Memory limit when using Memoryswap limit")
        if sw != -1 and sw < mem:
            raise UsageError("Minimum memoryswap limit should be larger than memory limit, see usage")
    elif mem is not None:
        sw = 2 * mem
    return mem, sw


def parse_cpus(text: str | None) -> int | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as e:
        raise UsageError(f"invalid --cpus {text!r}: expected a number such as 1.5") from e
    if value != value or value in (float("inf"), float("-inf")):  # nan, inf: docker refuses them as "not rational"
        raise UsageError(f'invalid argument "{text}" for "--cpus" flag: failed to parse {text} as a rational number')
    ncpu = os.cpu_count() or 1
    if value > ncpu:  # before the product, which would overflow for 1e308
        raise UsageError(f"range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")
    nano = int(round(value * 1e9))
    if nano == 0:
        return None
    if nano < 10_000_000 or value > ncpu:
        raise UsageError(f"range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")
    return nano


def parse_signal(text: str) -> int:
    """``SIGTERM``, ``TERM``, ``term`` or ``15`` -> 15."""
    t = text.strip().upper()
    if t.isdigit():
        n = int(t)
        if 0 < n < 65:
            return n
        raise UsageError(f"invalid signal {text!r}")
    name = t if t.startswith("SIG") else "SIG" + t
    try:
        return int(_signal.Signals[name])
    except KeyError as e:
        m = re.fullmatch(r"SIGRTMIN\+(\d+)", name)
        if m and _signal.SIGRTMIN + int(m.group(1)) <= _signal.SIGRTMAX:
            return int(_signal.SIGRTMIN) + int(m.group(1))
        raise UsageError(f"invalid signal {text!r}") from e


def parse_env_list(items: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """``-e KEY=VALUE`` as is; ``-e KEY`` takes the host's value and is dropped if the host has none."""
    env = os.environ if environ is None else environ
    out: list[str] = []
    for item in items:
        key, eq, _ = item.partition("=")
        if not key or not _ENV_KEY_RE.match(key):
            raise UsageError(f"invalid environment variable {item!r}")
        if eq:
            out.append(item)
        elif key in env:
            out.append(f"{key}={env[key]}")
    return out


def parse_env_file(path: str, environ: Mapping[str, str] | None = None, limit: int = 1024 * 1024) -> list[str]:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise UsageError(f"open {path}: {e.strerror}") from e
    if len(data) > limit:
        raise UsageError(f"env file {path} is larger than {limit} bytes")
    try:
        text = data.decode()
    except UnicodeDecodeError as e:  # docker: "invalid env file (PATH): invalid utf8 bytes at line N"
        lineno = data.count(b"\n", 0, e.start) + 1
        raise UsageError(f"invalid env file ({path}): invalid utf8 bytes at line {lineno}") from e
    lines = []
    for raw in text.splitlines():
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        if " " in line.partition("=")[0].strip() or "\t" in line.partition("=")[0]:
            raise UsageError(f"variable {line.partition('=')[0]!r} contains whitespaces ({path})")
        lines.append(line)
    return parse_env_list(lines, environ)


def parse_volume(spec: str) -> MountSpec:
    """``-v /host:/ctr[:opts]`` (a bind), ``-v NAME:/ctr[:opts]`` (a named volume), ``-v /ctr`` (anonymous)."""
    parts = spec.split(":")
    if len(parts) == 1 and spec.startswith("/"):
        if _is_root(spec):
            raise UsageError(f"invalid volume specification: '{spec}': {_root_destination('volume')}")
        return MountSpec("volume", os.path.normpath(spec))
    if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
        raise UsageError(f"invalid volume specification: '{spec}'")
    src, dst = parts[0], parts[1]
    if not dst.startswith("/"):
        raise UsageError(f"invalid volume specification: '{spec}': the container path must be absolute")
    bind = src.startswith("/")
    ro = False
    nocopy = False
    opts: list[str] = []
    if len(parts) == 3:
        for o in parts[2].split(","):
            if o == "ro":
                ro = True
            elif o == "rw":
                ro = False
            elif o == "nocopy" and not bind:
                nocopy = True
            elif o in ("z", "Z"):
                continue
            elif bind and o in ("rprivate", "private", "rshared", "shared", "rslave", "slave"):
                opts.append(o)
            else:
                raise UsageError(f"invalid mode: {o}")
    mode = parts[2] if len(parts) == 3 else ""
    if _is_root(dst):
        raise UsageError(f"invalid volume specification: '{spec}': {_root_destination('bind' if bind else 'volume')}")
    if bind:
        return MountSpec("bind", os.path.normpath(dst), os.path.normpath(src), ro, tuple(opts), mode=mode)
    _check_volume_name(src)
    return MountSpec("volume", os.path.normpath(dst), src, ro, (), mode=mode or "z", nocopy=nocopy)


def _is_root(target: str) -> bool:
    """``/``, ``//``, ``/.``, ``/..``: a mount there would cover the container's whole root filesystem (and a
    bind of a host directory there would receive the container's files)."""
    return os.path.normpath("/" + target.lstrip("/")) == "/"


def _root_destination(typ: str) -> str:
    return f'invalid mount config for type "{typ}": invalid specification: destination can\'t be \'/\''


def _check_volume_name(name: str) -> None:
    from geedocker.errors import VolumeError
    from geedocker.volumes.store import validate_name  # here: only a named volume needs it

    try:
        validate_name(name)
    except VolumeError as e:
        raise UsageError(str(e)) from e


def check_mount_points(mounts: Iterable[MountSpec]) -> None:
    """One mount per destination (docker: 'Duplicate mount point')."""
    seen: set[str] = set()
    for m in mounts:
        if m.target in seen:
            raise UsageError(f"Duplicate mount point: {m.target}")
        seen.add(m.target)


def parse_mount(spec: str) -> MountSpec:
    """``--mount type=bind,source=/a,target=/b,readonly``, ``type=tmpfs,target=/t,tmpfs-size=64m`` or
    ``type=volume[,source=NAME],target=/v[,volume-nocopy][,volume-opt=K=V]...`` (fields as CSV, as docker)."""
    import csv  # docker reads --mount as one CSV record ("volume-opt=o=a,b" quoted)

    fields: dict[str, str] = {}
    volume_opts: list[tuple[str, str]] = []
    volume_labels: list[tuple[str, str]] = []
    for part in next(csv.reader([spec])):
        k, eq, v = part.partition("=")
        k = k.strip().lower()
        if not k:
            continue
        if k in ("volume-opt", "volume-label"):
            vk, veq, vv = v.partition("=")
            if not vk or not veq:
                raise UsageError(f"invalid --mount {spec!r}: {k} needs KEY=VALUE")
            (volume_opts if k == "volume-opt" else volume_labels).append((vk, vv))
            continue
        fields[k] = v if eq else "true"
    typ = fields.pop("type", "volume")
    target = fields.pop("target", None) or fields.pop("destination", None) or fields.pop("dst", None)
    source = fields.pop("source", None) or fields.pop("src", None) or ""
    ro_text = fields.pop("readonly", None) or fields.pop("ro", None)
    ro = ro_text is not None and ro_text.lower() in ("true", "1", "")
    if not target or not target.startswith("/"):
        raise UsageError(f"invalid --mount {spec!r}: an absolute target is required")
    if _is_root(target):
        raise UsageError(_root_destination(typ))
    if typ != "volume" and (volume_opts or volume_labels):
        raise UsageError(f"invalid --mount {spec!r}: volume-opt and volume-label are for type=volume")
    if typ == "bind":
        if not source.startswith("/"):
            raise UsageError(f"invalid --mount {spec!r}: a bind mount needs an absolute source")
        opts = [fields.pop("bind-propagation")] if "bind-propagation" in fields else []
        if fields:
            raise UsageError(f"invalid --mount {spec!r}: unknown field(s) {', '.join(sorted(fields))}")
        return MountSpec("bind", os.path.normpath(target), os.path.normpath(source), ro, tuple(opts))
    if typ == "tmpfs":
        opts = []
        if "tmpfs-size" in fields:
            opts.append(f"size={parse_bytes(fields.pop('tmpfs-size'), 'tmpfs-size')}")
        if "tmpfs-mode" in fields:
            mode = fields.pop("tmpfs-mode")
            if not re.fullmatch(r"[0-7]{1,4}", mode):
                raise UsageError(f"invalid tmpfs-mode {mode!r}")
            opts.append(f"mode={mode}")
        if fields or source:
            raise UsageError(f"invalid --mount {spec!r}: unexpected field(s) for tmpfs")
        return MountSpec("tmpfs", os.path.normpath(target), "tmpfs", ro, tuple(opts))
    if typ == "volume":
        nocopy_text = fields.pop("volume-nocopy", None)
        nocopy = nocopy_text is not None and nocopy_text.lower() in ("true", "1", "")
        driver = fields.pop("volume-driver", "local")
        if driver != "local":
            raise UsageError(f"invalid --mount {spec!r}: volume driver {driver!r} is not supported (local is)")
        if fields:
            raise UsageError(f"invalid --mount {spec!r}: unknown field(s) {', '.join(sorted(fields))}")
        if source:
            _check_volume_name(source)
        return MountSpec(
            "volume", os.path.normpath(target), source, ro, (), mode="z", nocopy=nocopy,
            volume_options=tuple(sorted(volume_opts)), volume_labels=tuple(sorted(volume_labels)),
        )  # fmt: skip
    raise UsageError(f"mount type {typ!r} is not supported (bind, volume and tmpfs are)")


def parse_tmpfs(spec: str) -> MountSpec:
    """``--tmpfs /run[:size=64m,mode=755]``."""
    target, _, opts = spec.partition(":")
    if not target.startswith("/"):
        raise UsageError(f"invalid --tmpfs {spec!r}: the path must be absolute")
    if _is_root(target):
        raise UsageError("invalid specification: destination can't be '/'")
    options = tuple(o for o in opts.split(",") if o)
    for o in options:
        if not re.fullmatch(r"[a-z_]+(=[A-Za-z0-9.,:_-]+)?", o):
            raise UsageError(f"invalid tmpfs option {o!r}")
    return MountSpec("tmpfs", os.path.normpath(target), "tmpfs", "ro" in options, options)


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


def parse_ulimit(text: str) -> tuple[str, int, int]:
    """``nofile=1024[:2048]`` -> ("RLIMIT_NOFILE", 1024, 2048); -1 is unlimited."""
    from geedocker.runtime.spec import RLIMITS

    ULIMITS = {n.removeprefix("RLIMIT_").lower(): n for n in RLIMITS}  # docker's names: nofile -> RLIMIT_NOFILE
    name, eq, values = text.partition("=")
    if not eq or name not in ULIMITS:
        raise UsageError(f"invalid ulimit {text!r}: expected <type>=<soft>[:<hard>] with a known type")
    soft_s, _, hard_s = values.partition(":")
    try:
        soft = int(soft_s)
        hard = int(hard_s) if hard_s else soft
    except ValueError as e:
        raise UsageError(f"invalid ulimit {text!r}: limits are integers") from e
    unlimited = 2**64 - 1
    soft, hard = (unlimited if soft == -1 else soft), (unlimited if hard == -1 else hard)
    if soft < 0 or hard < 0 or soft > hard:
        raise UsageError(f"invalid ulimit {text!r}: the soft limit must not exceed the hard limit")
    return ULIMITS[name], soft, hard


def parse_sysctl(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not re.fullmatch(r"[a-z0-9_.\-/]+", key):
        raise UsageError(f"invalid sysctl {text!r}: expected key=value")
    namespaced = key.startswith(("net.", "kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue.")) or key in (
        "kernel.domainname",
        "kernel.hostname",
    )
    if not namespaced:
        raise UsageError(f"sysctl {key!r} is not namespaced: it cannot be set for one container")
    return key, value


def validate_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise UsageError(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name.lstrip("/")


def normalize_capability(name: str) -> str:
    from geedocker.runtime.capabilities import NAMES as ALL_CAPABILITIES

    n = name.strip().upper()
    if n == "ALL":
        return n
    if not n.startswith("CAP_"):
        n = "CAP_" + n
    if n not in ALL_CAPABILITIES:
        raise UsageError(f"unknown capability: {name!r}")
    return n


# ---------------------------------------------------------------- pieces of the spec


def host_capabilities() -> tuple[str, ...]:
    """Every capability the running kernel knows."""
    from geedocker.runtime.capabilities import NAMES as ALL_CAPABILITIES
    from geedocker.runtime.capabilities import last_cap

    return ALL_CAPABILITIES[: last_cap() + 1]


def capabilities(opts: RunOptions, known: tuple[str, ...] | None = None) -> list[str]:
    """Docker's rules: defaults, minus --cap-drop, plus --cap-add; ALL on either side; --privileged = all."""
    from geedocker.runtime.capabilities import DEFAULT_CAPABILITIES

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


def resolve_env(image: ContainerConfig, opts: RunOptions, hostname: str, user: ProcessUser) -> list[str]:
    daemon = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if opts.tty:
        daemon.append("TERM=xterm")
    env = merge_env(daemon, image.env, opts.env)
    if not any(_env_key(e) == "HOME" for e in env):
        env.append(f"HOME={user.home or '/'}")
    return env


def resolve_workdir(image: ContainerConfig, opts: RunOptions) -> str:
    wd = opts.workdir or image.working_dir or "/"
    if not wd.startswith("/"):
        raise UsageError(f"the working directory {wd!r} is invalid: it needs to be an absolute path")
    return os.path.normpath(wd)


def resolve_stop_signal(image: ContainerConfig, opts: RunOptions) -> int:
    return parse_signal(opts.stop_signal or image.stop_signal or "SIGTERM")


def _default_mounts(opts: RunOptions) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={opts.shm_size or 64 << 20}"],
        },
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "rw" if opts.privileged else "ro"],
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "rw" if opts.privileged else "ro"],
        },
    ]
    return mounts


def _user_mounts(opts: RunOptions) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in opts.mounts:
        if m.type == "bind":
            propagation = [o for o in m.options if o.endswith(("private", "shared", "slave"))] or ["rprivate"]
            out.append(
                {
                    "destination": m.target,
                    "type": "bind",
                    "source": m.source,
                    "options": ["rbind", *propagation, "ro" if m.readonly else "rw"],
                }
            )
        else:
            opts_ = list(m.options) or []
            base = ["nosuid", "nodev", "noexec"]
            for o in ("exec", "suid", "dev"):
                if o in opts_:
                    base.remove("no" + o)
            out.append(
                {
                    "destination": m.target,
                    "type": "tmpfs",
                    "source": "tmpfs",
                    "options": [*base, *(o for o in opts_ if o not in ("exec", "suid", "dev"))],
                }
            )
    return out


def _resources(opts: RunOptions) -> dict[str, Any]:
    from geedocker.runtime.cgroups.devices import DEFAULT_ALLOWED_DEVICES

    res: dict[str, Any] = {}
    if not opts.privileged:
        devices: list[dict[str, Any]] = [{"allow": False, "access": "rwm"}]
        for r in DEFAULT_ALLOWED_DEVICES:  # the runtime's list: what every container may use
            rule: dict[str, Any] = {"allow": True, "type": r.type, "access": r.access}
            if r.major is not None:
                rule["major"] = r.major
            if r.minor is not None:
                rule["minor"] = r.minor
            devices.append(rule)
        res["devices"] = devices
    else:
        res["devices"] = [{"allow": True, "access": "rwm"}]
    if opts.memory is not None:
        mem: dict[str, Any] = {"limit": opts.memory}
        if opts.memory_swap is not None:
            mem["swap"] = opts.memory_swap
        res["memory"] = mem
    if opts.nano_cpus is not None:
        period = 100_000
        res["cpu"] = {"quota": opts.nano_cpus * period // 1_000_000_000, "period": period}
    if opts.cpu_shares:
        res.setdefault("cpu", {})["shares"] = opts.cpu_shares
    if opts.pids_limit is not None and opts.pids_limit > 0:
        res["pids"] = {"limit": opts.pids_limit}
    return res


def engine_cgroups_path(cid: str) -> str:
    """The cgroup of an engine's container, as its config.json gives it to the runtime."""
    from geedocker.runtime.cgroups.base import OWN_PARENT

    return f"/{OWN_PARENT}/{cid}"


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


def build_spec(
    image: ImageConfig | ContainerConfig,
    opts: RunOptions,
    *,
    container_id: str,
    user: ProcessUser,
    rootfs: str = "rootfs",
    extra_mounts: Iterable[Mapping[str, Any]] = (),
    known_capabilities: tuple[str, ...] | None = None,
    devices: Iterable[Mapping[str, Any]] = (),
    cgroups_path: str | None = None,
    init_path: str | None = None,
) -> dict[str, Any]:
    """The OCI runtime-spec config.json for ``opts`` over ``image``.

    With ``--init``, ``init_path`` (a static tini/catatonit on the host) is bind-mounted read-only at
    ``/sbin/docker-init`` and runs the command as its child (``docker-init -- ARGS``), as docker does.

    ``extra_mounts`` (e.g. /etc/hosts, /etc/hostname, /etc/resolv.conf from the container's dir) go
    between the defaults and the user's mounts; ``devices`` are added to ``linux.devices``
    (``--privileged`` passes the host's).
    """
    cfg = image.config if isinstance(image, ImageConfig) else image
    hostname = opts.hostname or (os.uname().nodename if opts.network == "host" else container_id[:12])
    caps = capabilities(opts, known_capabilities)
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "cgroup")]
    if opts.network != "host":
        namespaces.insert(1, {"type": "network"})
    args = resolve_command(cfg, opts)
    init_mounts: list[dict[str, Any]] = []
    if opts.init:
        if not init_path:
            raise UsageError("--init: no init binary (install catatonit or tini, or set GEEDOCKER_INIT_PATH)")
        args = [INIT_DESTINATION, "--", *args]
        ro_bind = ["rbind", "rprivate", "ro"]
        init_mounts.append({"destination": INIT_DESTINATION, "type": "bind", "source": init_path, "options": ro_bind})
    process: dict[str, Any] = {
        "terminal": opts.tty,
        "user": {"uid": user.uid, "gid": user.gid},
        "args": args,
        "env": resolve_env(cfg, opts, hostname, user),
        "cwd": resolve_workdir(cfg, opts),
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": opts.no_new_privileges,
    }
    if user.additional_gids:
        process["user"]["additionalGids"] = list(user.additional_gids)
    if opts.ulimits:
        process["rlimits"] = [{"type": t, "soft": soft, "hard": hard} for t, soft, hard in opts.ulimits]
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "resources": _resources(opts),
        "cgroupsPath": cgroups_path if cgroups_path is not None else engine_cgroups_path(container_id),
    }
    if opts.sysctls:
        linux["sysctl"] = dict(opts.sysctls)
    from geedocker.containers import seccomp

    profile = seccomp.for_container(opts.security_opt, privileged=opts.privileged, capabilities=caps)
    if profile is not None:
        linux["seccomp"] = profile
    if not opts.privileged:
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)
    devs = [dict(d) for d in devices]
    if devs:
        linux["devices"] = devs
    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": rootfs, "readonly": opts.read_only},
        "hostname": hostname,
        "mounts": [*_default_mounts(opts), *(dict(m) for m in extra_mounts), *init_mounts, *_user_mounts(opts)],
        "linux": linux,
        "annotations": {
            "org.geedocker.container.id": container_id,
            "org.geedocker.stop-signal": str(resolve_stop_signal(cfg, opts)),
            **{k: v for k, v in opts.labels},
        },
    }
    return spec
