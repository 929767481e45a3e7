"""The runtime-spec ``config.json`` as frozen value classes (``geedocker.values``), validated at the edge.

``load(bundle)`` / ``Spec.from_json(obj)`` check types and refuse what this runtime does not honour
(AppArmor, SELinux, Intel RDT, personality, seccomp notify, ...) with a ``ContainerError`` naming the field.
Unknown properties are ignored, as the spec requires.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from geedocker.errors import ContainerError
from geedocker.logger import get_logger
from geedocker.values import field, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

    from geedocker.runtime.seccomp import Seccomp

log = get_logger(__name__)

MAX_CONFIG_BYTES = 4 * 1024 * 1024
IGNORE_SECCOMP_ENV = "GEEDOCKER_IGNORE_SECCOMP"

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
RLIMITS = (
    "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS", "RLIMIT_MEMLOCK",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
)  # fmt: skip


class SpecError(ContainerError):
    """config.json is malformed or asks for something this runtime does not honour."""


def _fail(where: str, msg: str) -> SpecError:
    return SpecError(f"config.json: {where}: {msg}")


def _obj(v: Any, where: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise _fail(where, "expected an object")
    return v


def _list(v: Any, where: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise _fail(where, "expected an array")
    return v


def _str(v: Any, where: str, default: str = "") -> str:
    if v is None:
        return default
    if not isinstance(v, str):
        raise _fail(where, "expected a string")
    return v


def _strs(v: Any, where: str) -> tuple[str, ...]:
    return tuple(_str(x, f"{where}[{i}]") for i, x in enumerate(_list(v, where)))


def _int(v: Any, where: str, default: int | None = None) -> int | None:
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int):
        raise _fail(where, "expected an integer")
    return v


def _req_int(v: Any, where: str) -> int:
    r = _int(v, where)
    if r is None:
        raise _fail(where, "required")
    return r


def _bool(v: Any, where: str) -> bool:
    if v is None:
        return False
    if not isinstance(v, bool):
        raise _fail(where, "expected a boolean")
    return v


def _refuse(obj: dict[str, Any], key: str, where: str, what: str) -> None:
    v = obj.get(key)
    if v not in (None, "", [], {}):
        raise _fail(f"{where}.{key}", f"{what} is not supported by the geedocker runtime")


@value
class Mount:
    destination: str
    type: str = ""
    source: str = ""
    options: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, o: Any, where: str) -> Mount:
        o = _obj(o, where)
        dest = _str(o.get("destination"), f"{where}.destination")
        if not dest.startswith("/"):
            raise _fail(f"{where}.destination", f"{dest!r} is not an absolute path")
        _refuse(o, "uidMappings", where, "idmapped mounts")
        _refuse(o, "gidMappings", where, "idmapped mounts")
        return cls(dest, _str(o.get("type"), f"{where}.type"), _str(o.get("source"), f"{where}.source"),
                   _strs(o.get("options"), f"{where}.options"))


@value
class IDMapping:
    container_id: int
    host_id: int
    size: int

    @classmethod
    def from_json(cls, o: Any, where: str) -> IDMapping:
        o = _obj(o, where)
        return cls(_req_int(o.get("containerID"), f"{where}.containerID"), _req_int(o.get("hostID"), f"{where}.hostID"),
                   _req_int(o.get("size"), f"{where}.size"))


@value
class Rlimit:
    type: str
    hard: int
    soft: int


@value
class Capabilities:
    bounding: tuple[str, ...] = ()
    effective: tuple[str, ...] = ()
    inheritable: tuple[str, ...] = ()
    permitted: tuple[str, ...] = ()
    ambient: tuple[str, ...] = ()


@value
class User:
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: tuple[int, ...] = ()


@value
class Process:
    args: tuple[str, ...]
    cwd: str = "/"
    env: tuple[str, ...] = ()
    terminal: bool = False
    console_size: tuple[int, int] | None = None  # (height, width)
    user: User = User()
    capabilities: Capabilities | None = None
    rlimits: tuple[Rlimit, ...] = ()
    no_new_privileges: bool = False
    oom_score_adj: int | None = None

    @classmethod
    def from_json(cls, o: Any, where: str = "process") -> Process:
        o = _obj(o, where)
        for key, what in (("apparmorProfile", "AppArmor"), ("selinuxLabel", "SELinux"), ("ioPriority", "ioPriority"),
                          ("scheduler", "scheduler"), ("execCPUAffinity", "execCPUAffinity"),
                          ("commandLine", "commandLine (Windows)")):
            _refuse(o, key, where, what)
        args = _strs(o.get("args"), f"{where}.args")
        if not args:
            raise _fail(f"{where}.args", "at least one argument is required")
        cwd = _str(o.get("cwd"), f"{where}.cwd", "/")
        if not cwd.startswith("/"):
            raise _fail(f"{where}.cwd", f"{cwd!r} is not an absolute path")
        u = _obj(o.get("user"), f"{where}.user")
        _refuse(u, "username", f"{where}.user", "user.username (Windows)")
        user = User(
            uid=_int(u.get("uid"), f"{where}.user.uid", 0) or 0,
            gid=_int(u.get("gid"), f"{where}.user.gid", 0) or 0,
            umask=_int(u.get("umask"), f"{where}.user.umask"),
            additional_gids=tuple(
                _req_int(g, f"{where}.user.additionalGids[{i}]")
                for i, g in enumerate(_list(u.get("additionalGids"), f"{where}.user.additionalGids"))
            ),
        )
        caps: Capabilities | None = None
        if o.get("capabilities") is not None:
            c = _obj(o["capabilities"], f"{where}.capabilities")
            caps = Capabilities(**{k: _strs(c.get(k), f"{where}.capabilities.{k}")
                                   for k in ("bounding", "effective", "inheritable", "permitted", "ambient")})
        rlimits = []
        for i, r in enumerate(_list(o.get("rlimits"), f"{where}.rlimits")):
            w = f"{where}.rlimits[{i}]"
            r = _obj(r, w)
            t = _str(r.get("type"), f"{w}.type")
            if t not in RLIMITS:
                raise _fail(f"{w}.type", f"unknown rlimit {t!r}")
            rlimits.append(Rlimit(t, _req_int(r.get("hard"), f"{w}.hard"), _req_int(r.get("soft"), f"{w}.soft")))
        size = None
        if o.get("consoleSize") is not None:
            cs = _obj(o["consoleSize"], f"{where}.consoleSize")
            size = (_req_int(cs.get("height"), f"{where}.consoleSize.height"),
                    _req_int(cs.get("width"), f"{where}.consoleSize.width"))
        return cls(
            args=args,
            cwd=cwd,
            env=_strs(o.get("env"), f"{where}.env"),
            terminal=_bool(o.get("terminal"), f"{where}.terminal"),
            console_size=size,
            user=user,
            capabilities=caps,
            rlimits=tuple(rlimits),
            no_new_privileges=_bool(o.get("noNewPrivileges"), f"{where}.noNewPrivileges"),
            oom_score_adj=_int(o.get("oomScoreAdj"), f"{where}.oomScoreAdj"),
        )

    def env_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in self.env:
            k, _, v = e.partition("=")
            out[k] = v
        return out


@value
class Hook:
    path: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    timeout: int | None = None


@value
class Hooks:
    create_runtime: tuple[Hook, ...] = ()
    create_container: tuple[Hook, ...] = ()
    start_container: tuple[Hook, ...] = ()
    poststart: tuple[Hook, ...] = ()
    poststop: tuple[Hook, ...] = ()

    @classmethod
    def from_json(cls, o: Any) -> Hooks:
        o = _obj(o, "hooks")

        def hooks(key: str) -> tuple[Hook, ...]:
            out = []
            for i, h in enumerate(_list(o.get(key), f"hooks.{key}")):
                w = f"hooks.{key}[{i}]"
                h = _obj(h, w)
                path = _str(h.get("path"), f"{w}.path")
                if not path.startswith("/"):
                    raise _fail(f"{w}.path", f"{path!r} is not an absolute path")
                timeout = _int(h.get("timeout"), f"{w}.timeout")
                if timeout is not None and timeout <= 0:
                    raise _fail(f"{w}.timeout", "must be greater than zero")
                out.append(Hook(path, _strs(h.get("args"), f"{w}.args"), _strs(h.get("env"), f"{w}.env"), timeout))
            return tuple(out)

        # prestart is deprecated; runc runs it with createRuntime, so do we.
        return cls(hooks("prestart") + hooks("createRuntime"), hooks("createContainer"), hooks("startContainer"),
                   hooks("poststart"), hooks("poststop"))


@value
class Device:
    type: str
    path: str
    major: int = 0
    minor: int = 0
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None


@value
class DeviceRule:
    allow: bool
    type: str = "a"
    major: int | None = None
    minor: int | None = None
    access: str = "rwm"


@value
class Resources:
    memory_limit: int | None = None
    memory_reservation: int | None = None
    memory_swap: int | None = None
    memory_swappiness: int | None = None
    disable_oom_killer: bool = False
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpu_cpus: str = ""
    cpu_mems: str = ""
    pids_limit: int | None = None
    devices: tuple[DeviceRule, ...] = ()
    unified: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, o: Any) -> Resources:
        w = "linux.resources"
        o = _obj(o, w)
        for key in ("hugepageLimits", "network", "rdma", "blockIO"):
            _refuse(o, key, w, key)
        m = _obj(o.get("memory"), f"{w}.memory")
        for key in ("kernel", "kernelTCP"):
            if m.get(key) is not None:
                # as runc: kernel memory is accounted with the rest since Linux 5.4, and its own limit is gone
                log.warning("%s.memory.%s is ignored: the kernel has no separate kernel memory limit any more",
                            w, key)
        for key in ("useHierarchy", "checkBeforeUpdate"):
            _refuse(m, key, f"{w}.memory", f"memory.{key}")
        swappiness = _int(m.get("swappiness"), f"{w}.memory.swappiness")
        if swappiness is not None and swappiness != -1 and not 0 <= swappiness <= 100:
            raise _fail(f"{w}.memory.swappiness", f"{swappiness} is out of range (0-100)")
        c = _obj(o.get("cpu"), f"{w}.cpu")
        for key in ("realtimeRuntime", "realtimePeriod", "idle", "burst"):
            _refuse(c, key, f"{w}.cpu", f"cpu.{key}")
        p = _obj(o.get("pids"), f"{w}.pids")
        rules = []
        for i, d in enumerate(_list(o.get("devices"), f"{w}.devices")):
            dw = f"{w}.devices[{i}]"
            d = _obj(d, dw)
            typ = _str(d.get("type"), f"{dw}.type", "a")
            if typ not in ("a", "b", "c"):
                raise _fail(f"{dw}.type", f"unknown device type {typ!r}")
            access = _str(d.get("access"), f"{dw}.access", "rwm")
            if not set(access) <= set("rwm"):
                raise _fail(f"{dw}.access", f"bad access {access!r}")
            rules.append(DeviceRule(_bool(d.get("allow"), f"{dw}.allow"), typ, _int(d.get("major"), f"{dw}.major"),
                                    _int(d.get("minor"), f"{dw}.minor"), access))
        unified = _obj(o.get("unified"), f"{w}.unified")
        for k, v in unified.items():
            if "/" in k or not isinstance(v, str):
                raise _fail(f"{w}.unified.{k}", "bad key or value")
        return cls(
            memory_limit=_int(m.get("limit"), f"{w}.memory.limit"),
            memory_reservation=_int(m.get("reservation"), f"{w}.memory.reservation"),
            memory_swap=_int(m.get("swap"), f"{w}.memory.swap"),
            memory_swappiness=None if swappiness == -1 else swappiness,
            disable_oom_killer=_bool(m.get("disableOOMKiller"), f"{w}.memory.disableOOMKiller"),
            cpu_shares=_int(c.get("shares"), f"{w}.cpu.shares"),
            cpu_quota=_int(c.get("quota"), f"{w}.cpu.quota"),
            cpu_period=_int(c.get("period"), f"{w}.cpu.period"),
            cpu_cpus=_str(c.get("cpus"), f"{w}.cpu.cpus"),
            cpu_mems=_str(c.get("mems"), f"{w}.cpu.mems"),
            pids_limit=_int(p.get("limit"), f"{w}.pids.limit"),
            devices=tuple(rules),
            unified=tuple(sorted(unified.items())),
        )


@value
class Namespace:
    type: str
    path: str = ""


@value
class Linux:
    namespaces: tuple[Namespace, ...] = ()
    uid_mappings: tuple[IDMapping, ...] = ()
    gid_mappings: tuple[IDMapping, ...] = ()
    devices: tuple[Device, ...] = ()
    cgroups_path: str = ""
    resources: Resources = Resources()
    sysctl: tuple[tuple[str, str], ...] = ()
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    rootfs_propagation: str = ""
    seccomp: Seccomp | None = None

    def namespace(self, typ: str) -> Namespace | None:
        for ns in self.namespaces:
            if ns.type == typ:
                return ns
        return None

    @classmethod
    def from_json(cls, o: Any) -> Linux:
        o = _obj(o, "linux")
        seccomp = None
        if o.get("seccomp"):
            if os.environ.get(IGNORE_SECCOMP_ENV) == "1":
                log.warning("linux.seccomp is ignored (%s=1): the container runs without a seccomp filter",
                            IGNORE_SECCOMP_ENV)
            else:
                from geedocker.runtime.seccomp import Seccomp

                try:
                    seccomp = Seccomp.from_json(o["seccomp"])
                except ContainerError as e:
                    raise SpecError(str(e)) from e
        for key, what in (("intelRdt", "Intel RDT"), ("personality", "personality"), ("timeOffsets", "time offsets"),
                          ("memoryPolicy", "memory policy"), ("netDevices", "netDevices")):
            _refuse(o, key, "linux", what)
        if _str(o.get("mountLabel"), "linux.mountLabel"):
            raise _fail("linux.mountLabel", "SELinux mount labels are not supported by the geedocker runtime")
        nss: list[Namespace] = []
        seen: set[str] = set()
        for i, n in enumerate(_list(o.get("namespaces"), "linux.namespaces")):
            w = f"linux.namespaces[{i}]"
            n = _obj(n, w)
            t = _str(n.get("type"), f"{w}.type")
            if t not in NAMESPACE_TYPES:
                raise _fail(f"{w}.type", f"unsupported namespace type {t!r}")
            if t in seen:
                raise _fail(f"{w}.type", f"namespace {t!r} listed twice")
            seen.add(t)
            nss.append(Namespace(t, _str(n.get("path"), f"{w}.path")))
        uidm = tuple(IDMapping.from_json(x, f"linux.uidMappings[{i}]")
                     for i, x in enumerate(_list(o.get("uidMappings"), "linux.uidMappings")))
        gidm = tuple(IDMapping.from_json(x, f"linux.gidMappings[{i}]")
                     for i, x in enumerate(_list(o.get("gidMappings"), "linux.gidMappings")))
        if (uidm or gidm) and "user" not in seen:
            raise _fail("linux.uidMappings", "id mappings need a user namespace")
        devs = []
        for i, d in enumerate(_list(o.get("devices"), "linux.devices")):
            w = f"linux.devices[{i}]"
            d = _obj(d, w)
            typ = _str(d.get("type"), f"{w}.type")
            if typ not in ("c", "b", "u", "p"):
                raise _fail(f"{w}.type", f"unknown device type {typ!r}")
            path = _str(d.get("path"), f"{w}.path")
            if not path.startswith("/dev/"):
                raise _fail(f"{w}.path", f"{path!r} is not under /dev")
            devs.append(Device(typ, path, _int(d.get("major"), f"{w}.major", 0) or 0,
                               _int(d.get("minor"), f"{w}.minor", 0) or 0, _int(d.get("fileMode"), f"{w}.fileMode"),
                               _int(d.get("uid"), f"{w}.uid"), _int(d.get("gid"), f"{w}.gid")))
        sysctl = _obj(o.get("sysctl"), "linux.sysctl")
        for k, v in sysctl.items():
            if not isinstance(v, str) or not k or "/" in k or ".." in k:
                raise _fail(f"linux.sysctl.{k}", "bad key or value")
            _check_sysctl_namespaced(k, {n.type: n for n in nss})
        prop = _str(o.get("rootfsPropagation"), "linux.rootfsPropagation")
        if prop not in ("", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"):
            raise _fail("linux.rootfsPropagation", f"unknown propagation {prop!r}")
        return cls(
            namespaces=tuple(nss),
            uid_mappings=uidm,
            gid_mappings=gidm,
            devices=tuple(devs),
            cgroups_path=_str(o.get("cgroupsPath"), "linux.cgroupsPath"),
            resources=Resources.from_json(o.get("resources")),
            sysctl=tuple(sorted(sysctl.items())),
            masked_paths=_strs(o.get("maskedPaths"), "linux.maskedPaths"),
            readonly_paths=_strs(o.get("readonlyPaths"), "linux.readonlyPaths"),
            rootfs_propagation=prop,
            seccomp=seccomp,
        )


# runc's rule: a sysctl may be set only where the container has its own copy of it
IPC_SYSCTLS = frozenset({"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                         "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"})


def _check_sysctl_namespaced(key: str, nss: dict[str, Namespace]) -> None:
    where = f"linux.sysctl.{key}"
    if key in IPC_SYSCTLS or key.startswith("fs.mqueue."):
        if "ipc" not in nss:
            raise _fail(where, "not allowed in the host's IPC namespace (linux.namespaces has no ipc)")
        return
    if key.startswith("net."):
        net = nss.get("network")
        if net is None:
            raise _fail(where, "not allowed in the host's network namespace (linux.namespaces has no network)")
        if net.path and _same_file(net.path, "/proc/self/ns/net"):
            raise _fail(where, f"not allowed in the host's network namespace ({net.path} is the host's)")
        return
    if key in ("kernel.domainname", "kernel.hostname"):
        if "uts" not in nss:
            raise _fail(where, "not allowed in the host's UTS namespace (linux.namespaces has no uts)")
        return
    raise _fail(where, "not in a separate kernel namespace: it would change the host")


def _same_file(a: str, b: str) -> bool:
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False  # a path that does not open fails where the namespace is joined, with its own error
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


@value
class Spec:
    oci_version: str
    root_path: str
    process: Process | None
    root_readonly: bool = False
    hostname: str = ""
    domainname: str = ""
    mounts: tuple[Mount, ...] = ()
    hooks: Hooks = Hooks()
    linux: Linux = Linux()
    annotations: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def from_json(cls, o: Any) -> Spec:
        o = _obj(o, "(top level)")
        version = _str(o.get("ociVersion"), "ociVersion")
        if not version.startswith("1."):
            raise _fail("ociVersion", f"unsupported version {version!r} (want 1.x)")
        root = _obj(o.get("root"), "root")
        root_path = _str(root.get("path"), "root.path")
        if not root_path:
            raise _fail("root.path", "required")
        for key in ("windows", "solaris", "vm", "zos"):
            _refuse(o, key, "(top level)", key)
        if "linux" not in o:
            raise _fail("linux", "required (only Linux containers are supported)")
        ann = _obj(o.get("annotations"), "annotations")
        for k, v in ann.items():
            if not isinstance(v, str):
                raise _fail(f"annotations.{k}", "expected a string")
        linux = Linux.from_json(o.get("linux"))
        hostname = _str(o.get("hostname"), "hostname")
        if hostname and linux.namespace("uts") is None:
            raise _fail("hostname", "setting a hostname needs a uts namespace")
        return cls(
            oci_version=version,
            root_path=root_path,
            process=None if o.get("process") is None else Process.from_json(o.get("process")),
            root_readonly=_bool(root.get("readonly"), "root.readonly"),
            hostname=hostname,
            domainname=_str(o.get("domainname"), "domainname"),
            mounts=tuple(Mount.from_json(m, f"mounts[{i}]") for i, m in enumerate(_list(o.get("mounts"), "mounts"))),
            hooks=Hooks.from_json(o.get("hooks")),
            linux=linux,
            annotations=tuple(sorted(ann.items())),
        )

    def rootfs(self, bundle: Path) -> Path:
        p = Path(self.root_path)
        return p if p.is_absolute() else bundle / p


def load(bundle: Path) -> tuple[Spec, dict[str, Any]]:
    """Read ``bundle/config.json``: the validated ``Spec`` and the raw object (kept for hooks' state)."""
    path = bundle / "config.json"
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as e:
        raise SpecError(f"{path}: no such file (is {bundle} an OCI bundle?)") from e
    except OSError as e:
        raise SpecError(f"reading {path}: {e.strerror}") from e
    if len(raw) > MAX_CONFIG_BYTES:
        raise SpecError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        obj = json.loads(raw)
    except ValueError as e:
        raise SpecError(f"{path}: not valid JSON: {e}") from e
    spec = Spec.from_json(obj)
    if spec.process is None:
        raise _fail("process", "required to create a container")
    return spec, obj
