"""The spec's ``linux.resources`` section: the cgroup limits (memory, cpu, pids, device rules, unified) as
``Resources``, read from JSON by ``Resources.from_json``.

Separate from the rest of ``linux`` because the cgroup code (``runtime.cgroups``) and ``update`` need only
these values.
"""

from __future__ import annotations

from geedocker.logger import get_logger
from geedocker.runtime.spec_json import as_bool, as_int, as_list, as_obj, as_str, fail, refuse
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

log = get_logger(__name__)


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
        o = as_obj(o, w)
        for key in ("hugepageLimits", "network", "rdma", "blockIO"):
            refuse(o, key, w, key)
        m = as_obj(o.get("memory"), f"{w}.memory")
        for key in ("kernel", "kernelTCP"):
            if m.get(key) is not None:
                # as runc: kernel memory is accounted with the rest since Linux 5.4, and its own limit is gone
                log.warning("%s.memory.%s is ignored: the kernel has no separate kernel memory limit any more",
                            w, key)
        for key in ("useHierarchy", "checkBeforeUpdate"):
            refuse(m, key, f"{w}.memory", f"memory.{key}")
        swappiness = as_int(m.get("swappiness"), f"{w}.memory.swappiness")
        if swappiness is not None and swappiness != -1 and not 0 <= swappiness <= 100:
            raise fail(f"{w}.memory.swappiness", f"{swappiness} is out of range (0-100)")
        c = as_obj(o.get("cpu"), f"{w}.cpu")
        for key in ("realtimeRuntime", "realtimePeriod", "idle", "burst"):
            refuse(c, key, f"{w}.cpu", f"cpu.{key}")
        p = as_obj(o.get("pids"), f"{w}.pids")
        rules = []
        for i, d in enumerate(as_list(o.get("devices"), f"{w}.devices")):
            dw = f"{w}.devices[{i}]"
            d = as_obj(d, dw)
            typ = as_str(d.get("type"), f"{dw}.type", "a")
            if typ not in ("a", "b", "c"):
                raise fail(f"{dw}.type", f"unknown device type {typ!r}")
            access = as_str(d.get("access"), f"{dw}.access", "rwm")
            if not set(access) <= set("rwm"):
                raise fail(f"{dw}.access", f"bad access {access!r}")
            rules.append(DeviceRule(as_bool(d.get("allow"), f"{dw}.allow"), typ, as_int(d.get("major"), f"{dw}.major"),
                                    as_int(d.get("minor"), f"{dw}.minor"), access))
        unified = as_obj(o.get("unified"), f"{w}.unified")
        for k, v in unified.items():
            if "/" in k or not isinstance(v, str):
                raise fail(f"{w}.unified.{k}", "bad key or value")
        return cls(
            memory_limit=as_int(m.get("limit"), f"{w}.memory.limit"),
            memory_reservation=as_int(m.get("reservation"), f"{w}.memory.reservation"),
            memory_swap=as_int(m.get("swap"), f"{w}.memory.swap"),
            memory_swappiness=None if swappiness == -1 else swappiness,
            disable_oom_killer=as_bool(m.get("disableOOMKiller"), f"{w}.memory.disableOOMKiller"),
            cpu_shares=as_int(c.get("shares"), f"{w}.cpu.shares"),
            cpu_quota=as_int(c.get("quota"), f"{w}.cpu.quota"),
            cpu_period=as_int(c.get("period"), f"{w}.cpu.period"),
            cpu_cpus=as_str(c.get("cpus"), f"{w}.cpu.cpus"),
            cpu_mems=as_str(c.get("mems"), f"{w}.cpu.mems"),
            pids_limit=as_int(p.get("limit"), f"{w}.pids.limit"),
            devices=tuple(rules),
            unified=tuple(sorted(unified.items())),
        )
