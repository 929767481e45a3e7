"""Docker's create/run flag values, parsed and validated: sizes, memory, cpus, signals, env, mounts, ulimits,
sysctls, names, capabilities. Each function turns one flag's text into a value or raises ``UsageError`` with
docker's message; ``geedocker.cli.create`` and the API's create call them.
"""

from __future__ import annotations

import os
import re
import signal as _signal
from collections.abc import Iterable, Mapping

from geedocker.containers.options import MountSpec
from geedocker.errors import DaemonRefusal, UsageError
from geedocker.runtime.capabilities import NAMES as ALL_CAPABILITIES
from geedocker.runtime.spec_process import RLIMITS

MIN_MEMORY = 6 * 1024 * 1024

_NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_ENV_KEY_RE = re.compile(r"^[^=\s]+$")

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


def check_cpu_shares(shares: int | None) -> int | None:
    """``--cpu-shares`` / ``HostConfig.CpuShares``: 0 is the default (None); a negative weight is refused here,
    where dockerd takes it and its start fails ("shares: invalid argument")."""
    if shares is not None and shares < 0:
        raise UsageError(f"invalid CPU shares {shares}: shares: invalid argument")
    return shares or None


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
        return MountSpec("volume", os.path.normpath(spec), flag="-v")
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
        kinds = [_MODE_KINDS.get(o) for o in parts[2].split(",")]
        if None in kinds or len(set(kinds)) < len(kinds):  # docker's ValidMountMode: one of each kind at most
            raise DaemonRefusal(f"invalid mode: {parts[2]}")
        for o in parts[2].split(","):
            if o in ("ro", "rw"):
                ro = o == "ro"
            elif o == "nocopy":
                if bind:
                    raise DaemonRefusal(f"invalid volume specification: '{spec}': invalid mount config for type "
                                        '"bind": field VolumeOptions must not be specified')  # fmt: skip
                nocopy = True
            elif _MODE_KINDS[o] == "propagation":
                if not bind:
                    raise DaemonRefusal(f"invalid volume specification: '{spec}': invalid mount config for type "
                                        '"volume": field BindOptions must not be specified')  # fmt: skip
                opts.append(o)
            # z, Z (SELinux relabelling) and Docker Desktop's consistency hints: nothing to do here
    mode = parts[2] if len(parts) == 3 else ""
    if _is_root(dst):
        raise UsageError(f"invalid volume specification: '{spec}': {_root_destination('bind' if bind else 'volume')}")
    if bind:
        return MountSpec("bind", os.path.normpath(dst), os.path.normpath(src), ro, tuple(opts), mode=mode, flag="-v")
    _check_volume_name(src)
    return MountSpec("volume", os.path.normpath(dst), src, ro, (), mode=mode or "z", nocopy=nocopy, flag="-v")


# the kinds of a -v mode's words (docker's volume/mounts parser): each kind at most once
_MODE_KINDS = {"rw": "rw", "ro": "rw", "z": "label", "Z": "label", "nocopy": "copy", "consistent": "consistency",
               "cached": "consistency", "delegated": "consistency",
               **dict.fromkeys(("private", "rprivate", "shared", "rshared", "slave", "rslave"), "propagation")}


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
        return MountSpec("bind", os.path.normpath(target), os.path.normpath(source), ro, tuple(opts), flag="--mount")
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
        return MountSpec("tmpfs", os.path.normpath(target), "tmpfs", ro, tuple(opts), flag="--mount")
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
            volume_options=tuple(sorted(volume_opts)), volume_labels=tuple(sorted(volume_labels)), flag="--mount",
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
    return MountSpec("tmpfs", os.path.normpath(target), "tmpfs", "ro" in options, options, flag="--tmpfs")


ULIMITS = {n.removeprefix("RLIMIT_").lower(): n for n in RLIMITS}  # docker's names: nofile -> RLIMIT_NOFILE


def parse_ulimit(text: str) -> tuple[str, int, int]:
    """``nofile=1024[:2048]`` -> ("RLIMIT_NOFILE", 1024, 2048); -1 is unlimited."""
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
    n = name.strip().upper()
    if n == "ALL":
        return n
    if not n.startswith("CAP_"):
        n = "CAP_" + n
    if n not in ALL_CAPABILITIES:
        raise UsageError(f"unknown capability: {name!r}")
    return n


def parse_expose(text: str) -> list[str]:
    """``--expose PORT[-PORT][/PROTO]`` -> ["PORT/PROTO", ...] (docker's words for a bad one)."""
    spec, _, proto = text.partition("/")
    proto = proto or "tcp"
    lo_s, _, hi_s = spec.partition("-")
    try:
        lo = int(lo_s)
        hi = int(hi_s) if hi_s else lo
        if not (0 <= lo <= 65535 and 0 <= hi <= 65535):
            raise ValueError
    except ValueError as e:
        bad = hi_s if lo_s.isdigit() else lo_s
        raise UsageError(f'invalid range format for --expose: {text}, error: strconv.ParseUint: parsing "{bad}": '
                         "invalid syntax") from e
    if proto not in ("tcp", "udp", "sctp"):
        raise UsageError(f"invalid proto: {proto}")
    if hi < lo:
        raise UsageError(f"invalid range format for --expose: {text}: the end is below the start")
    return [f"{p}/{proto}" for p in range(lo, hi + 1)]


def _device_mode(mode: str) -> bool:
    """r, w and m, each at most once."""
    return bool(mode) and all(c in "rwm" for c in mode) and len(set(mode)) == len(mode)


def parse_device(text: str) -> tuple[str, str, str]:
    """``--device HOST[:CONTAINER][:PERMISSIONS]`` -> (host, container, permissions), read as docker's CLI
    reads it (the permissions may also come second: ``/dev/fuse:rw``)."""
    parts = text.split(":", 3)
    if len(parts) > 3 or not parts[0]:
        raise UsageError(f"invalid device specification: {text}")
    perms, dest = "rwm", ""
    if len(parts) == 3:
        if not _device_mode(parts[2]):
            raise UsageError(f"bad mode specified: {parts[2]}")
        perms = parts[2]
    if len(parts) >= 2:
        if _device_mode(parts[1]):
            perms = parts[1]
        else:
            dest = parts[1]
    dest = dest or parts[0]
    if not dest.startswith("/"):
        raise UsageError(f"bad format for path: {dest}")
    return parts[0], os.path.normpath(dest), perms


# the logging drivers geedocker has, and each one's --log-opt keys (docker's for those drivers)
LOG_DRIVERS: dict[str, frozenset[str]] = {
    "json-file": frozenset({"max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag"}),
    "local": frozenset({"max-size", "max-file", "compress"}),
    "none": frozenset(),
}
DOCKER_ONLY_LOG_DRIVERS = {"syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "etwlogs", "gcplogs",
                           "logentries"}  # fmt: skip


def parse_log_options(driver: str, opts: Iterable[str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``--log-driver`` and ``--log-opt K=V``: (driver, "" for the default json-file; the options), checked as
    docker checks them (its driver's keys; max-size a size, max-file 1 or more, compress a boolean)."""
    driver = driver or "json-file"
    pairs = [(k, v) for k, _, v in (o.partition("=") for o in opts)]
    if driver == "none" and pairs:
        raise UsageError("invalid logging opts for driver none")
    if driver not in LOG_DRIVERS:
        if driver in DOCKER_ONLY_LOG_DRIVERS:
            raise DaemonRefusal(f"logging driver {driver!r} is not supported by geedocker (json-file, local and none "
                                "are)")  # fmt: skip
        raise DaemonRefusal(f'error looking up logging plugin {driver}: plugin "{driver}" not found')
    for k, v in pairs:
        if k not in LOG_DRIVERS[driver]:
            raise DaemonRefusal(f"unknown log opt '{k}' for {driver} log driver")
        # docker's daemon checks these values when the container starts; here, when it is made
        if k == "max-size":
            try:
                if parse_bytes(v, "max-size") <= 0:
                    raise ValueError
            except (UsageError, ValueError) as e:
                raise DaemonRefusal(f"failed to initialize logging driver: invalid size: '{v}'") from e
        elif k == "max-file":
            if not re.fullmatch(r"-?[0-9]+", v):
                raise DaemonRefusal(f'failed to initialize logging driver: strconv.Atoi: parsing "{v}": invalid '
                                    "syntax")  # fmt: skip
            if int(v) < 1:
                raise DaemonRefusal("failed to initialize logging driver: max-file cannot be less than 1")
        elif k == "compress" and v.lower() not in ("1", "t", "true", "0", "f", "false"):
            raise DaemonRefusal(f'failed to initialize logging driver: strconv.ParseBool: parsing "{v}": invalid '
                                "syntax")  # fmt: skip
    return ("" if driver == "json-file" else driver), tuple(sorted(pairs))
