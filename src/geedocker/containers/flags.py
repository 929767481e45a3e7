"""Docker's create/run flag values, parsed and validated: sizes, memory, cpus, signals, env, ulimits, sysctls,
names, capabilities, exposed ports, devices. Each function turns one flag's text into a value or raises
``UsageError`` with docker's message; ``geedocker.cli.create`` and the API's create call them. The mount flags
(``-v``, ``--mount``, ``--tmpfs``) are in ``containers.mountflags``, the logging flags in ``containers.logflags``.
"""

from __future__ import annotations

import os
import re
import signal as _signal
from collections.abc import Iterable, Mapping

from geedocker.errors import UsageError
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
