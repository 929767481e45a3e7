"""The cgroup v1 driver: one directory per controller hierarchy (/sys/fs/cgroup/<controller>/<path>)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from geedocker.logger import get_logger
from geedocker.runtime.cgroups.base import CGROUP_ROOT, Cgroup, CgroupError, oom_kill_count
from geedocker.runtime.cgroups.files import (
    make_dir,
    parse_pids,
    read_text,
    remove_cgroups,
    remove_own_parent,
    write_text,
)
from geedocker.runtime.cgroups.host import CONTROLLERS, v1_mounts
from geedocker.runtime.cgroups.paths import container_path
from geedocker.runtime.spec_resources import DeviceRule, Resources

log = get_logger(__name__)

def device_rule(rule: DeviceRule) -> str:
    major = "*" if rule.major is None or rule.major < 0 else str(rule.major)
    minor = "*" if rule.minor is None or rule.minor < 0 else str(rule.minor)
    if rule.type == "a" and major == "*" and minor == "*":
        return "a"
    return f"{rule.type} {major}:{minor} {rule.access}"


class V1(Cgroup):
    version = 1

    def __init__(self, dirs: dict[str, Path]) -> None:
        self.dirs = dirs

    @classmethod
    def for_host(cls, cgroups_path: str, cid: str, own: dict[str, str]) -> V1:
        dirs: dict[str, Path] = {}
        for ctrl, mp in v1_mounts().items():
            if ctrl not in CONTROLLERS:
                continue
            path = container_path(cgroups_path, cid, own.get(ctrl, "/"))
            dirs[ctrl] = mp / path.lstrip("/")
        if not dirs:
            raise CgroupError(f"no cgroup v1 hierarchies are mounted under {CGROUP_ROOT}")
        return cls(dirs)

    def to_json(self) -> dict[str, object]:
        return {"version": 1, "dirs": {k: os.fspath(v) for k, v in self.dirs.items()}}

    def mount_sources(self) -> list[tuple[str, str]]:
        """[(name of the hierarchy's dir below /sys/fs/cgroup, this cgroup's dir in it)], one per hierarchy."""
        mounts = v1_mounts()
        out: dict[str, str] = {}
        for ctrl, d in self.dirs.items():
            mp = mounts.get(ctrl)
            if mp is not None:
                out.setdefault(mp.name, os.fspath(d))
        return sorted(out.items())

    def _unique_dirs(self) -> list[Path]:
        out: list[Path] = []
        for d in self.dirs.values():
            if d not in out:
                out.append(d)
        return out

    def create(self) -> None:
        for ctrl, d in self.dirs.items():
            make_dir(d)
            if ctrl == "cpuset":
                self._init_cpuset(d)

    @staticmethod
    def _init_cpuset(d: Path) -> None:
        """A new v1 cpuset is empty; copy cpus and mems down from the nearest ancestor that has them."""
        for name in ("cpuset.cpus", "cpuset.mems"):
            chain = [d]
            while read_text(chain[-1] / name).strip() == "" and chain[-1].parent != chain[-1]:
                chain.append(chain[-1].parent)
            value = read_text(chain[-1] / name).strip()
            for c in reversed(chain[:-1]):
                write_text(c / name, value)

    def _dir(self, ctrl: str, what: str) -> Path:
        d = self.dirs.get(ctrl)
        if d is None:
            raise CgroupError(f"{what} needs the {ctrl} cgroup controller, which is not mounted")
        return d

    def apply(self, r: Resources) -> None:
        if r.memory_limit is not None or r.memory_swap is not None or r.memory_reservation is not None:
            d = self._dir("memory", "linux.resources.memory")
            if r.memory_reservation is not None:
                write_text(d / "memory.soft_limit_in_bytes", str(r.memory_reservation))
            limit = None if r.memory_limit is None else str(r.memory_limit if r.memory_limit > 0 else -1)
            swap = None if r.memory_swap is None else str(r.memory_swap if r.memory_swap > 0 else -1)
            if swap is not None and not (d / "memory.memsw.limit_in_bytes").exists():
                raise CgroupError("linux.resources.memory.swap: swap accounting (memory.memsw) is not enabled")
            # memsw must stay >= the memory limit: the order of the writes depends on the direction.
            try:
                if limit is not None:
                    write_text(d / "memory.limit_in_bytes", limit)
                if swap is not None:
                    write_text(d / "memory.memsw.limit_in_bytes", swap)
            except CgroupError:
                if swap is None or limit is None:
                    raise
                write_text(d / "memory.memsw.limit_in_bytes", swap)
                write_text(d / "memory.limit_in_bytes", limit)
        if r.memory_swappiness is not None:
            d = self._dir("memory", "linux.resources.memory.swappiness")
            write_text(d / "memory.swappiness", str(r.memory_swappiness))
        if r.disable_oom_killer:
            d = self._dir("memory", "linux.resources.memory.disableOOMKiller")
            write_text(d / "memory.oom_control", "1")
        if r.cpu_shares is not None or r.cpu_quota is not None or r.cpu_period is not None:
            d = self._dir("cpu", "linux.resources.cpu")
            if r.cpu_shares:
                write_text(d / "cpu.shares", str(r.cpu_shares))
            if r.cpu_period:
                write_text(d / "cpu.cfs_period_us", str(r.cpu_period))
            if r.cpu_quota is not None:
                write_text(d / "cpu.cfs_quota_us", str(r.cpu_quota if r.cpu_quota > 0 else -1))
        if r.cpu_cpus or r.cpu_mems:
            d = self._dir("cpuset", "linux.resources.cpu.cpus/mems")
            if r.cpu_cpus:
                write_text(d / "cpuset.cpus", r.cpu_cpus)
            if r.cpu_mems:
                write_text(d / "cpuset.mems", r.cpu_mems)
        if r.pids_limit is not None:
            d = self._dir("pids", "linux.resources.pids")
            write_text(d / "pids.max", "max" if r.pids_limit <= 0 else str(r.pids_limit))
        if r.devices:
            d = self._dir("devices", "linux.resources.devices")
            fds: dict[str, int] = {}  # each file opened once; one rule per write(2), as the kernel reads them
            try:
                for rule in r.devices:
                    name = "devices.allow" if rule.allow else "devices.deny"
                    text = device_rule(rule)
                    try:
                        if name not in fds:
                            fds[name] = os.open(d / name, os.O_WRONLY | os.O_CLOEXEC)
                        os.write(fds[name], text.encode())
                    except OSError as e:
                        raise CgroupError(f"writing {text!r} to {d / name}: {e.strerror}") from e
            finally:
                for fd in fds.values():
                    os.close(fd)
        if r.unified:
            raise CgroupError("linux.resources.unified needs cgroup v2 (this host uses v1)")

    def add(self, pid: int) -> None:
        for d in self._unique_dirs():
            write_text(d / "cgroup.procs", str(pid))

    def oom_killed(self) -> bool:
        d = self.dirs.get("memory")
        try:
            return d is not None and oom_kill_count(read_text(d / "memory.oom_control")) > 0
        except OSError:
            return False

    def pids(self) -> list[int]:
        for ctrl in ("pids", "memory", "freezer", "cpu", "devices"):
            d = self.dirs.get(ctrl)
            if d is not None:
                try:
                    return parse_pids(read_text(d / "cgroup.procs"))
                except FileNotFoundError:
                    return []
        return []

    def freeze(self) -> None:
        write_text(self._dir("freezer", "pause") / "freezer.state", "FROZEN")

    def thaw(self) -> None:
        write_text(self._dir("freezer", "resume") / "freezer.state", "THAWED")

    def frozen(self) -> bool:
        d = self.dirs.get("freezer")
        if d is None:
            return False
        try:
            return read_text(d / "freezer.state").strip() in ("FROZEN", "FREEZING")
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENODEV):
                return False
            raise

    def destroy(self) -> None:
        remove_cgroups(self._unique_dirs(), self._thaw_if_frozen)
        for d in self._unique_dirs():
            remove_own_parent(d)

    def _thaw_if_frozen(self) -> None:
        if "freezer" in self.dirs and self.frozen():
            self.thaw()
