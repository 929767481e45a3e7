"""Seccomp profiles in docker's JSON format, turned into the OCI ``linux.seccomp`` of a container's config.json.

Docker's format is a superset of the OCI one: besides ``defaultAction``, ``architectures`` and
``syscalls[].names/action/errnoRet/args`` it has ``archMap`` (the host's architecture and the ones it also
runs, e.g. x86_64 with x86 and x32) and per-rule ``includes``/``excludes`` on the container's capabilities
(``caps``), the host's architecture (``arches``, Go's names: amd64, arm64, ...) and kernel (``minKernel``).
The engine resolves those for one container, as docker's daemon does, and hands the runtime a plain OCI
profile, which it compiles with libseccomp (``geedocker.runtime.seccomp``):

- a rule is kept when every ``includes`` condition holds (all of its caps are in the bounding set, the
  host's architecture is listed, the kernel is at least ``minKernel``) and no ``excludes`` condition does
  (any listed cap present, the architecture listed, the kernel at least ``minKernel``);
- ``archMap``: the entry for the host's architecture gives it and its sub-architectures; ``architectures``
  (the OCI form) is taken as it is; a profile may not have both.

The default profile is ``seccomp_default.json`` beside this module: geedocker's own allowlist, written from
the kernel's syscall tables and the rules docker documents for its default profile (see its comments).

docker's own daemon-side code is Go; no Python library reads this format, hence this module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from geedocker.errors import UsageError

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping
    from typing import Any

DEFAULT_PROFILE = Path(__file__).with_name("seccomp_default.json")
UNCONFINED = "unconfined"
BUILTIN = "builtin"  # docker's name for its default profile in --security-opt seccomp=builtin

ACTIONS = frozenset({"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP",
                     "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_LOG", "SCMP_ACT_ALLOW"})
OPS = frozenset({"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                 "SCMP_CMP_MASKED_EQ"})
FLAGS = frozenset({"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"})

# os.uname().machine -> (docker's name for the architecture, as in includes.arches; libseccomp's)
MACHINES: dict[str, tuple[str, str]] = {
    "x86_64": ("amd64", "SCMP_ARCH_X86_64"),
    "i386": ("x86", "SCMP_ARCH_X86"),
    "i686": ("x86", "SCMP_ARCH_X86"),
    "aarch64": ("arm64", "SCMP_ARCH_AARCH64"),
    "armv7l": ("arm", "SCMP_ARCH_ARM"),
    "armv6l": ("arm", "SCMP_ARCH_ARM"),
    "ppc64le": ("ppc64le", "SCMP_ARCH_PPC64LE"),
    "ppc64": ("ppc64", "SCMP_ARCH_PPC64"),
    "s390x": ("s390x", "SCMP_ARCH_S390X"),
    "riscv64": ("riscv64", "SCMP_ARCH_RISCV64"),
    "mips64": ("mips64", "SCMP_ARCH_MIPS64"),
}


class ProfileError(UsageError):
    """A seccomp profile we cannot use: names the field (exit 125, as docker's refusal)."""


def host_platform() -> tuple[str, str, tuple[int, int]]:
    """(docker's architecture name, libseccomp's, (kernel major, minor)) of this machine."""
    u = os.uname()
    arch, scmp = MACHINES.get(u.machine, (u.machine, "SCMP_ARCH_" + u.machine.upper()))
    return arch, scmp, parse_kernel(u.release, "kernel release")


def parse_kernel(text: str, where: str) -> tuple[int, int]:
    """``5.10.0-28-amd64`` or ``4.8`` -> (major, minor), as docker compares kernels for minKernel."""
    parts = text.split(".")
    try:
        major = int(parts[0])
        minor = int("".join(c for c in parts[1].split("-")[0] if c.isdigit()) or "0") if len(parts) > 1 else 0
    except ValueError as e:
        raise ProfileError(f"{where}: invalid kernel version {text!r}") from e
    return major, minor


def read_profile(path: str) -> str:
    """The text of a profile file given to ``--security-opt seccomp=PATH``, checked to be JSON (docker's CLI
    sends the compacted JSON to its daemon, and ``inspect`` shows it so)."""
    try:
        with open(path, "rb") as f:
            data = f.read(4 << 20)
    except OSError as e:
        raise ProfileError(f"opening seccomp profile ({path}) failed: {e.strerror}") from e
    try:
        return json.dumps(json.loads(data), separators=(",", ":"))
    except ValueError as e:
        raise ProfileError(f"compacting json for seccomp profile ({path}) failed: {e}") from e


def default_profile_text() -> str:
    return DEFAULT_PROFILE.read_text()


def to_oci(profile: str | Mapping[str, Any], *, capabilities: Collection[str],
           platform: tuple[str, str, tuple[int, int]] | None = None) -> dict[str, Any] | None:
    """The OCI ``linux.seccomp`` object for a container with bounding set ``capabilities`` on ``platform``
    (``host_platform()`` by default), or None for a profile that asks for nothing (docker: no default
    action and no rules). ``ProfileError`` names the field of a bad profile."""
    if isinstance(profile, str):
        try:
            profile = json.loads(profile)
        except ValueError as e:
            raise ProfileError(f"Decoding seccomp profile failed: {e}") from e
    p = _obj(profile, "seccomp profile")
    arch, scmp_arch, kernel = platform or host_platform()
    default = p.get("defaultAction") or ""
    rules = _list(p.get("syscalls"), "syscalls")
    if not default and not rules:
        return None
    _action(default, "defaultAction")
    out: dict[str, Any] = {"defaultAction": default}
    if p.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = _uint(p["defaultErrnoRet"], "defaultErrnoRet")
    out["architectures"] = _architectures(p, scmp_arch)
    flags = [_str(f, f"flags[{i}]") for i, f in enumerate(_list(p.get("flags"), "flags"))]
    for i, f in enumerate(flags):
        if f not in FLAGS:
            raise ProfileError(f"seccomp profile: flags[{i}]: unknown flag {f!r}")
    if flags:
        out["flags"] = flags
    for key in ("listenerPath", "listenerMetadata"):
        if p.get(key):
            raise ProfileError(f"seccomp profile: {key}: seccomp user notification is not supported")
    caps = frozenset(capabilities)
    syscalls = []
    for i, r in enumerate(rules):
        where = f"syscalls[{i}]"
        r = _obj(r, where)
        names = [_str(n, f"{where}.names[{j}]") for j, n in enumerate(_list(r.get("names"), f"{where}.names"))]
        if r.get("name"):
            if names:
                raise ProfileError(f"seccomp profile: {where}: use either 'name' or 'names'")
            names = [_str(r["name"], f"{where}.name")]
        action = _action(r.get("action") or "", f"{where}.action")
        args = [_arg(a, f"{where}.args[{j}]") for j, a in enumerate(_list(r.get("args"), f"{where}.args"))]
        if not _applies(r, caps, arch, kernel, where):
            continue
        if not names:
            raise ProfileError(f"seccomp profile: {where}.names: no system call named")
        rule: dict[str, Any] = {"names": names, "action": action}
        if r.get("errnoRet") is not None:
            rule["errnoRet"] = _uint(r["errnoRet"], f"{where}.errnoRet")
        if args:
            rule["args"] = args
        syscalls.append(rule)
    out["syscalls"] = syscalls
    return out


def _architectures(p: Mapping[str, Any], scmp_arch: str) -> list[str]:
    archs = [_str(a, f"architectures[{i}]") for i, a in enumerate(_list(p.get("architectures"), "architectures"))]
    arch_map = _list(p.get("archMap"), "archMap")
    if archs and arch_map:
        raise ProfileError("seccomp profile: 'architectures' and 'archMap' were both given; use one of them")
    for i, m in enumerate(arch_map):
        m = _obj(m, f"archMap[{i}]")
        if _str(m.get("architecture"), f"archMap[{i}].architecture") == scmp_arch:
            archs.append(scmp_arch)
            subs = _list(m.get("subArchitectures"), f"archMap[{i}].subArchitectures")
            archs += [_str(s, f"archMap[{i}].subArchitectures[{j}]") for j, s in enumerate(subs)]
    for i, a in enumerate(archs):
        if not a.startswith("SCMP_ARCH_"):
            raise ProfileError(f"seccomp profile: architectures[{i}]: {a!r} is no SCMP_ARCH_* name")
    return archs


def _applies(r: Mapping[str, Any], caps: frozenset[str], arch: str, kernel: tuple[int, int], where: str) -> bool:
    inc_arches, inc_caps, inc_kernel = _conditions(r, "includes", where)
    exc_arches, exc_caps, exc_kernel = _conditions(r, "excludes", where)
    if arch in exc_arches or any(c in caps for c in exc_caps) or (exc_kernel and kernel >= exc_kernel):
        return False
    if inc_arches and arch not in inc_arches:
        return False
    return all(c in caps for c in inc_caps) and not (inc_kernel and kernel < inc_kernel)


def _conditions(r: Mapping[str, Any], key: str, where: str) -> tuple[list[str], list[str], tuple[int, int] | None]:
    """(arches, caps, minKernel) of a rule's ``includes`` or ``excludes``, all checked whether used or not."""
    where = f"{where}.{key}"
    o = _obj(r.get(key) or {}, where)
    kernel = None
    if o.get("minKernel"):
        kernel = parse_kernel(_str(o["minKernel"], f"{where}.minKernel"), f"seccomp profile: {where}.minKernel")
    return _names(o, "arches", where), _names(o, "caps", where), kernel


def _arg(a: Any, where: str) -> dict[str, Any]:
    a = _obj(a, where)
    index = a.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= 5:
        raise ProfileError(f"seccomp profile: {where}.index: must be 0..5")
    op = a.get("op")
    if op not in OPS:
        raise ProfileError(f"seccomp profile: {where}.op: unknown comparison {op!r}")
    out = {"index": index, "value": _uint(a.get("value", 0), f"{where}.value"), "op": op}
    if a.get("valueTwo"):
        out["valueTwo"] = _uint(a["valueTwo"], f"{where}.valueTwo")
    return out


def _action(name: Any, where: str) -> str:
    if name not in ACTIONS:
        raise ProfileError(f"seccomp profile: {where}: unknown action {name!r}")
    return str(name)


def _names(o: Mapping[str, Any], key: str, where: str) -> list[str]:
    return [_str(v, f"{where}.{key}[{i}]") for i, v in enumerate(_list(o.get(key), f"{where}.{key}"))]


def _obj(o: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(o, dict):
        raise ProfileError(f"{where if where == 'seccomp profile' else 'seccomp profile: ' + where}: "
                           "expected a JSON object")
    return o


def _list(o: Any, where: str) -> list[Any]:
    if o is None:
        return []
    if not isinstance(o, list):
        raise ProfileError(f"seccomp profile: {where}: expected a list")
    return o


def _str(o: Any, where: str) -> str:
    if not isinstance(o, str):
        raise ProfileError(f"seccomp profile: {where}: expected a string")
    return o


def _uint(o: Any, where: str) -> int:
    if not isinstance(o, int) or isinstance(o, bool) or not 0 <= o < 1 << 64:
        raise ProfileError(f"seccomp profile: {where}: expected an unsigned integer")
    return o


def parse_security_opts(opts: Iterable[str], *, inline: bool = False) -> tuple[tuple[str, ...], bool]:
    """``--security-opt`` values, checked as docker's CLI and daemon check them -> (the options as docker keeps
    them in ``HostConfig.SecurityOpt``, no_new_privileges). A profile file becomes ``seccomp=<its JSON>``
    (docker's CLI sends the content, not the path) and is validated here, before anything is created.
    ``inline``: the options as the Engine API receives them, where ``seccomp=`` holds the profile itself."""
    kept: list[str] = []
    nnp = False
    for opt in opts:
        key, sep, val = opt.partition("=")
        if not sep and key != "no-new-privileges":
            key, sep, val = opt.partition(":")  # the old form, seccomp:unconfined
        if (not sep or not val) and key != "no-new-privileges":
            raise UsageError(f'Invalid --security-opt: "{opt}"')
        if key == "no-new-privileges":
            if sep and val not in _BOOLS:
                raise UsageError(f'invalid --security-opt 2: "{opt}"')
            nnp = not sep or _BOOLS[val]
        elif key == "seccomp":
            if val not in (UNCONFINED, BUILTIN):
                text = val if inline else read_profile(val)
                to_oci(text, capabilities=())  # every field is checked whatever the capabilities
                opt = f"seccomp={text}"
        elif key == "apparmor" or key == "label":
            if opt not in ("apparmor=unconfined", "label=disable", "label:disable"):
                raise UsageError(f"unsupported --security-opt {opt!r}: geedocker applies no AppArmor or SELinux "
                                 "profile")
        else:
            raise UsageError(f'invalid --security-opt 2: "{opt}"')
        kept.append(opt)
    return tuple(kept), nnp


# Go's strconv.ParseBool, which docker uses for no-new-privileges=VALUE
_BOOLS = {v: True for v in ("1", "t", "T", "TRUE", "true", "True")} | {
    v: False for v in ("0", "f", "F", "FALSE", "false", "False")}


def for_container(security_opt: Iterable[str], *, privileged: bool, capabilities: Collection[str]) \
        -> dict[str, Any] | None:
    """The ``linux.seccomp`` docker gives a container: none when privileged or ``seccomp=unconfined``, the
    given profile, or the default one (also for ``seccomp=builtin``)."""
    if privileged:
        return None
    choice = ""
    for opt in security_opt:
        key, sep, val = opt.partition("=")
        if not sep:
            key, sep, val = opt.partition(":")
        if key == "seccomp":
            choice = val
    if choice == UNCONFINED:
        return None
    return to_oci(default_profile_text() if choice in ("", BUILTIN) else choice, capabilities=capabilities)
