"""The cgroup v2 (unified) driver: one directory, controllers enabled down the tree.

``mount`` is the cgroup2 mount point (``/sys/fs/cgroup``, or a temp dir laid out like one in tests).
"""

from __future__ import annotations

import os
from pathlib import Path

from geedocker.logger import get_logger
from geedocker.runtime.cgroups.base import Cgroup, CgroupError, oom_kill_count
from geedocker.runtime.cgroups.files import (
    make_dir,
    parse_pids,
    read_text,
    remove_cgroups,
    remove_own_parent,
    write_text,
)
from geedocker.runtime.spec_resources import Resources

log = get_logger(__name__)

WANTED_CONTROLLERS = ("cpu", "cpuset", "memory", "pids", "io")


def shares_to_weight(shares: int) -> int:
    """cgroup v1 cpu.shares [2, 262144] -> v2 cpu.weight [1, 10000] (the conversion runc uses)."""
    if shares <= 0:
        return 0
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


class V2(Cgroup):
    version = 2

    def __init__(self, mount: Path, path: str) -> None:
        if not path.startswith("/") or ".." in path.split("/"):
            raise CgroupError(f"bad cgroup path {path!r}")
        self.mount = mount
        self.path = path
        self.dir = mount / path.lstrip("/")

    def oom_killed(self) -> bool:
        try:
            return oom_kill_count(read_text(self.dir / "memory.events")) > 0
        except OSError:
            return False

    def to_json(self) -> dict[str, object]:
        return {"version": 2, "mount": os.fspath(self.mount), "path": self.path}

    def mount_sources(self) -> list[tuple[str, str]]:
        """[("", this cgroup's dir)]: the one hierarchy is /sys/fs/cgroup itself."""
        return [("", os.fspath(self.dir))]

    def _enable_controllers(self) -> None:
        """Enable the wanted controllers in every ancestor's cgroup.subtree_control."""
        parts = [p for p in self.path.split("/") if p]
        d = self.mount
        for name in parts:
            try:
                available = read_text(d / "cgroup.controllers").split()
            except FileNotFoundError:
                available = []
            enabled = read_text(d / "cgroup.subtree_control").split() if (d / "cgroup.subtree_control").exists() else []
            want = [c for c in WANTED_CONTROLLERS if c in available and c not in enabled]
            if want:
                try:
                    write_text(d / "cgroup.subtree_control", " ".join("+" + c for c in want))
                except CgroupError as e:
                    log.warning("could not enable controllers %s in %s: %s", want, d, e)
            d = d / name

    def create(self) -> None:
        self._enable_controllers()
        make_dir(self.dir)

    def _controllers(self) -> list[str]:
        try:
            return read_text(self.dir / "cgroup.controllers").split()
        except FileNotFoundError:
            return []

    def _need(self, controller: str, what: str) -> None:
        if controller not in self._controllers():
            raise CgroupError(f"{what} needs the {controller} controller, which is not enabled for {self.dir}")

    def apply(self, r: Resources) -> None:
        d = self.dir
        if r.memory_swappiness is not None:
            raise CgroupError("linux.resources.memory.swappiness: cgroup v2 has no per-group swappiness "
                              "(leave it unset or -1)")
        if r.disable_oom_killer:
            raise CgroupError("linux.resources.memory.disableOOMKiller: cgroup v2 cannot turn the OOM killer off "
                              "for a group")
        if r.memory_limit is not None or r.memory_swap is not None or r.memory_reservation is not None:
            self._need("memory", "linux.resources.memory")
            if r.memory_reservation is not None:
                write_text(d / "memory.low", "max" if r.memory_reservation < 0 else str(r.memory_reservation))
            if r.memory_limit is not None:
                write_text(d / "memory.max", "max" if r.memory_limit < 0 else str(r.memory_limit))
            if r.memory_swap is not None:
                # The spec's swap is memory+swap (v1 semantics); v2's memory.swap.max is swap alone.
                if r.memory_swap < 0:
                    swap = "max"
                elif r.memory_limit is None or r.memory_limit < 0:
                    raise CgroupError("linux.resources.memory.swap needs memory.limit on cgroup v2")
                elif r.memory_swap < r.memory_limit:
                    raise CgroupError(f"memory.swap ({r.memory_swap}) is below memory.limit ({r.memory_limit})")
                else:
                    swap = str(r.memory_swap - r.memory_limit)
                write_text(d / "memory.swap.max", swap)
        if r.cpu_shares is not None or r.cpu_quota is not None or r.cpu_period is not None:
            self._need("cpu", "linux.resources.cpu")
            if r.cpu_shares:
                write_text(d / "cpu.weight", str(shares_to_weight(r.cpu_shares)))
            if r.cpu_quota is not None or r.cpu_period is not None:
                quota = "max" if r.cpu_quota is None or r.cpu_quota <= 0 else str(r.cpu_quota)
                period = r.cpu_period or 100000
                write_text(d / "cpu.max", f"{quota} {period}")
        if r.cpu_cpus or r.cpu_mems:
            self._need("cpuset", "linux.resources.cpu.cpus/mems")
            if r.cpu_cpus:
                write_text(d / "cpuset.cpus", r.cpu_cpus)
            if r.cpu_mems:
                write_text(d / "cpuset.mems", r.cpu_mems)
        if r.pids_limit is not None:
            self._need("pids", "linux.resources.pids")
            write_text(d / "pids.max", "max" if r.pids_limit <= 0 else str(r.pids_limit))
        if r.devices and any(not (rule.allow and rule.type == "a") for rule in r.devices):
            log.warning("linux.resources.devices is not enforced on cgroup v2 (it needs an eBPF program)")
        for key, value in r.unified:
            write_text(d / key, value)

    def add(self, pid: int) -> None:
        write_text(self.dir / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        try:
            return parse_pids(read_text(self.dir / "cgroup.procs"))
        except FileNotFoundError:
            return []

    def freeze(self) -> None:
        write_text(self.dir / "cgroup.freeze", "1")

    def thaw(self) -> None:
        write_text(self.dir / "cgroup.freeze", "0")

    def frozen(self) -> bool:
        try:
            return read_text(self.dir / "cgroup.freeze").strip() == "1"
        except FileNotFoundError:
            return False

    def destroy(self) -> None:
        if not self.dir.exists():
            return
        remove_cgroups([self.dir])
        remove_own_parent(self.dir)
