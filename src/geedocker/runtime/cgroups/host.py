"""This host's cgroups: which hierarchy this process is in, whether it is unified, the migration warm-up."""

from __future__ import annotations

import os
from pathlib import Path

from geedocker.runtime.cgroups.base import CGROUP_ROOT
from geedocker.runtime.cgroups.files import read_text

SELF_CGROUP = "/proc/self/cgroup"
SELF_MOUNTINFO = "/proc/self/mountinfo"
_read_once: dict[str, str] = {}


def host_text(path: str) -> str:
    """``path``'s text; this process's cgroups and mount table (``SELF_CGROUP``, ``SELF_MOUNTINFO``) are read
    once per process: a container start asks about them a dozen times, and neither changes under it."""
    if path not in (SELF_CGROUP, SELF_MOUNTINFO):
        return read_text(Path(path))
    if path not in _read_once:
        _read_once[path] = read_text(Path(path))
    return _read_once[path]


CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer", "blkio", "name=systemd")


def v1_mounts(mountinfo: str = SELF_MOUNTINFO) -> dict[str, Path]:
    """Controller (``memory``, ``name=systemd``) -> mount point of its v1 hierarchy."""
    out: dict[str, Path] = {}
    for line in host_text(mountinfo).splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        rf = right.split()
        if len(fields) < 5 or len(rf) < 3 or rf[0] != "cgroup":
            continue
        for opt in rf[2].split(","):
            if opt in CONTROLLERS or opt.startswith("name="):
                out.setdefault(opt, Path(fields[4]))
    return out


def own_cgroups(proc_cgroup: str = SELF_CGROUP) -> dict[str, str]:
    """Controller (or "" for the unified hierarchy, "name=systemd" for named ones) -> path of this process."""
    out: dict[str, str] = {}
    for line in host_text(proc_cgroup).splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, path = parts
        if not ctrls:
            out[""] = path
        for c in ctrls.split(","):
            if c:
                out[c] = path
    return out


def is_unified(root: Path = CGROUP_ROOT) -> bool:
    """Whether ``root`` is a cgroup2 mount (read from /proc/self/mountinfo)."""
    target = os.fspath(root)
    fstype = ""
    for line in host_text(SELF_MOUNTINFO).splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) >= 5 and fields[4] == target:
            fstype = right.split()[0] if right else ""
    return fstype == "cgroup2"


def warm_up_migration() -> None:
    """Make the kernel's next moves of processes between cgroups quick, from a thread, without waiting.

    A move (a write to ``cgroup.procs``) takes the kernel's ``cgroup_threadgroup_rwsem`` for writing. That
    lock favours its readers (every fork and exit): when no move has happened for a while, the next one
    first waits for an RCU grace period, 7-25 ms on a small VM, and the moves that follow within a grace
    period of it do not. ``create`` moves the container's init into its cgroups on its critical path, so it
    calls this as soon as it has made the container's cgroups: a thread moves this process into the cgroup
    it is already in (which changes nothing but takes the lock), and the grace period passes while the runtime
    forks and the init sets its root filesystem up. Not before the cgroups are made: the kernel holds
    cgroup_mutex, which a cgroup mkdir needs, while the move waits. Errors are ignored: this only saves time.
    """
    import _thread

    try:
        own = own_cgroups()
        if is_unified():
            procs = CGROUP_ROOT / own.get("", "/").lstrip("/") / "cgroup.procs"
        else:
            mounts = v1_mounts()
            ctrl = next((c for c in mounts if c in own), None)
            if ctrl is None:
                return
            procs = mounts[ctrl] / own[ctrl].lstrip("/") / "cgroup.procs"
        _thread.start_new_thread(_move_self, (os.fspath(procs),))
    except (OSError, RuntimeError):
        pass


def _move_self(procs: str) -> None:
    try:
        fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, b"0")  # 0: the writing process
        finally:
            os.close(fd)
    except OSError:
        pass
