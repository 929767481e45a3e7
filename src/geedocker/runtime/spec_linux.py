"""The spec's ``linux`` section: namespaces, id mappings, device nodes, sysctls (checked against the container's
namespaces, as runc does), masked and read-only paths, propagation, seccomp, and the resources
(``runtime.spec_resources``), as ``Linux``, read from JSON by ``Linux.from_json``.

Separate from the top level (``runtime.spec``): the namespace and device code needs only these values.
"""

from __future__ import annotations

import os

from geedocker.errors import ContainerError
from geedocker.logger import get_logger
from geedocker.runtime.spec_json import SpecError, as_int, as_list, as_obj, as_str, as_strs, fail, refuse, req_int
from geedocker.runtime.spec_resources import Resources
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

    from geedocker.runtime.seccomp import Seccomp

log = get_logger(__name__)

IGNORE_SECCOMP_ENV = "GEEDOCKER_IGNORE_SECCOMP"

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")


@value
class IDMapping:
    container_id: int
    host_id: int
    size: int

    @classmethod
    def from_json(cls, o: Any, where: str) -> IDMapping:
        o = as_obj(o, where)
        return cls(req_int(o.get("containerID"), f"{where}.containerID"), req_int(o.get("hostID"), f"{where}.hostID"),
                   req_int(o.get("size"), f"{where}.size"))


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
        o = as_obj(o, "linux")
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
            refuse(o, key, "linux", what)
        if as_str(o.get("mountLabel"), "linux.mountLabel"):
            raise fail("linux.mountLabel", "SELinux mount labels are not supported by the geedocker runtime")
        nss: list[Namespace] = []
        seen: set[str] = set()
        for i, n in enumerate(as_list(o.get("namespaces"), "linux.namespaces")):
            w = f"linux.namespaces[{i}]"
            n = as_obj(n, w)
            t = as_str(n.get("type"), f"{w}.type")
            if t not in NAMESPACE_TYPES:
                raise fail(f"{w}.type", f"unsupported namespace type {t!r}")
            if t in seen:
                raise fail(f"{w}.type", f"namespace {t!r} listed twice")
            seen.add(t)
            nss.append(Namespace(t, as_str(n.get("path"), f"{w}.path")))
        uidm = tuple(IDMapping.from_json(x, f"linux.uidMappings[{i}]")
                     for i, x in enumerate(as_list(o.get("uidMappings"), "linux.uidMappings")))
        gidm = tuple(IDMapping.from_json(x, f"linux.gidMappings[{i}]")
                     for i, x in enumerate(as_list(o.get("gidMappings"), "linux.gidMappings")))
        if (uidm or gidm) and "user" not in seen:
            raise fail("linux.uidMappings", "id mappings need a user namespace")
        devs = []
        for i, d in enumerate(as_list(o.get("devices"), "linux.devices")):
            w = f"linux.devices[{i}]"
            d = as_obj(d, w)
            typ = as_str(d.get("type"), f"{w}.type")
            if typ not in ("c", "b", "u", "p"):
                raise fail(f"{w}.type", f"unknown device type {typ!r}")
            path = as_str(d.get("path"), f"{w}.path")
            if not path.startswith("/dev/"):
                raise fail(f"{w}.path", f"{path!r} is not under /dev")
            devs.append(Device(typ, path, as_int(d.get("major"), f"{w}.major", 0) or 0,
                               as_int(d.get("minor"), f"{w}.minor", 0) or 0, as_int(d.get("fileMode"), f"{w}.fileMode"),
                               as_int(d.get("uid"), f"{w}.uid"), as_int(d.get("gid"), f"{w}.gid")))
        sysctl = as_obj(o.get("sysctl"), "linux.sysctl")
        for k, v in sysctl.items():
            if not isinstance(v, str) or not k or "/" in k or ".." in k:
                raise fail(f"linux.sysctl.{k}", "bad key or value")
            _check_sysctl_namespaced(k, {n.type: n for n in nss})
        prop = as_str(o.get("rootfsPropagation"), "linux.rootfsPropagation")
        if prop not in ("", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"):
            raise fail("linux.rootfsPropagation", f"unknown propagation {prop!r}")
        return cls(
            namespaces=tuple(nss),
            uid_mappings=uidm,
            gid_mappings=gidm,
            devices=tuple(devs),
            cgroups_path=as_str(o.get("cgroupsPath"), "linux.cgroupsPath"),
            resources=Resources.from_json(o.get("resources")),
            sysctl=tuple(sorted(sysctl.items())),
            masked_paths=as_strs(o.get("maskedPaths"), "linux.maskedPaths"),
            readonly_paths=as_strs(o.get("readonlyPaths"), "linux.readonlyPaths"),
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
            raise fail(where, "not allowed in the host's IPC namespace (linux.namespaces has no ipc)")
        return
    if key.startswith("net."):
        net = nss.get("network")
        if net is None:
            raise fail(where, "not allowed in the host's network namespace (linux.namespaces has no network)")
        if net.path and _same_file(net.path, "/proc/self/ns/net"):
            raise fail(where, f"not allowed in the host's network namespace ({net.path} is the host's)")
        return
    if key in ("kernel.domainname", "kernel.hostname"):
        if "uts" not in nss:
            raise fail(where, "not allowed in the host's UTS namespace (linux.namespaces has no uts)")
        return
    raise fail(where, "not in a separate kernel namespace: it would change the host")


def _same_file(a: str, b: str) -> bool:
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False  # a path that does not open fails where the namespace is joined, with its own error
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
