"""``stats``: a running container's resource use from its cgroup files (v1 and v2) and its network namespace,
computed as docker's CLI computes it.

- CPU %: the container's CPU time over the host's (``/proc/stat``) between two samples, times the online CPUs.
- Memory: usage minus inactive file pages (docker's "no cache" usage), over the limit (the host's memory when
  the cgroup has none).
- Net I/O: the container's interfaces but ``lo`` (``/proc/<pid>/net/dev`` reads its namespace).
- Block I/O: bytes read and written (v1 ``blkio.throttle.io_service_bytes``, v2 ``io.stat``).
- PIDs: ``pids.current``.
"""

from __future__ import annotations

import os
from pathlib import Path

from geedocker.containers.plan import engine_cgroups_path
from geedocker.containers.record import ContainerRecord
from geedocker.runtime.cgroups import for_container
from geedocker.values import value

_UNLIMITED = 1 << 60


@value
class Sample:
    cpu_ns: int
    system_ns: int
    online_cpus: int
    mem_usage: int
    mem_limit: int
    net_rx: int
    net_tx: int
    blk_read: int
    blk_write: int
    pids: int


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _int(text: str, default: int = 0) -> int:
    t = text.strip()
    return int(t) if t.lstrip("-").isdigit() else default


def _kv(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if v.strip().isdigit():
            out[k] = int(v)
    return out


def system_ns() -> int:
    """The host's CPU time (the first line of /proc/stat) in nanoseconds, as docker's getSystemCPUUsage."""
    line = _read(Path("/proc/stat")).split("\n", 1)[0].split()
    ticks = sum(int(x) for x in line[1:8]) if line and line[0] == "cpu" else 0
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def host_memory() -> int:
    for line in _read(Path("/proc/meminfo")).splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _net(pid: int) -> tuple[int, int]:
    rx = tx = 0
    for line in _read(Path(f"/proc/{pid}/net/dev")).splitlines()[2:]:
        name, _, rest = line.partition(":")
        f = rest.split()
        if name.strip() != "lo" and len(f) >= 9:
            rx += int(f[0])
            tx += int(f[8])
    return rx, tx


def sample(rec: ContainerRecord) -> Sample:
    cg = for_container(engine_cgroups_path(rec.id), rec.id)
    rx, tx = _net(rec.state.pid)
    ncpu = len(os.sched_getaffinity(0)) or 1
    if cg.version == 2:
        d = Path(cg.dir)  # type: ignore[attr-defined]
        cpu = _kv(_read(d / "cpu.stat")).get("usage_usec", 0) * 1000
        mstat = _kv(_read(d / "memory.stat"))
        usage = max(0, _int(_read(d / "memory.current")) - mstat.get("inactive_file", 0))
        limit = _int(_read(d / "memory.max"), _UNLIMITED)
        rd = wr = 0
        for line in _read(d / "io.stat").splitlines():
            for item in line.split()[1:]:
                k, _, v = item.partition("=")
                rd += int(v) if k == "rbytes" else 0
                wr += int(v) if k == "wbytes" else 0
        pids = _int(_read(d / "pids.current"))
    else:
        dirs: dict[str, Path] = {k: Path(v) for k, v in cg.dirs.items()}  # type: ignore[attr-defined]
        cpu = _int(_read(dirs.get("cpuacct", dirs.get("cpu", Path("/nonexistent"))) / "cpuacct.usage"))
        mem = dirs.get("memory", Path("/nonexistent"))
        mstat = _kv(_read(mem / "memory.stat"))
        usage = max(0, _int(_read(mem / "memory.usage_in_bytes")) - mstat.get("total_inactive_file", 0))
        limit = _int(_read(mem / "memory.limit_in_bytes"), _UNLIMITED)
        rd = wr = 0
        blk = dirs.get("blkio", Path("/nonexistent"))
        for line in _read(blk / "blkio.throttle.io_service_bytes").splitlines():
            f = line.split()
            if len(f) == 3 and f[1] == "Read":
                rd += int(f[2])
            elif len(f) == 3 and f[1] == "Write":
                wr += int(f[2])
        pids = _int(_read(dirs.get("pids", Path("/nonexistent")) / "pids.current"))
    host = host_memory()
    if limit >= _UNLIMITED or (host and limit > host):
        limit = host
    return Sample(cpu, system_ns(), ncpu, usage, limit, rx, tx, rd, wr, pids)


def _size(n: float, base: int, units: tuple[str, ...]) -> str:
    """docker's go-units CustomSize("%.4g%s")."""
    i = 0
    while n >= base and i < len(units) - 1:
        n /= base
        i += 1
    return f"{n:.4g}{units[i]}"


def binary_size(n: float) -> str:
    return _size(n, 1024, ("B", "KiB", "MiB", "GiB", "TiB", "PiB"))


def human_size(n: float) -> str:
    return _size(n, 1000, ("B", "kB", "MB", "GB", "TB", "PB"))


def row(rec: ContainerRecord, before: Sample | None, now: Sample, trunc: bool = True) -> dict[str, str]:
    """One line of ``stats``, with docker's template fields (.Container .ID .Name .CPUPerc .MemUsage .MemPerc
    .NetIO .BlockIO .PIDs)."""
    cpu = 0.0
    if before is not None:
        dc, ds = now.cpu_ns - before.cpu_ns, now.system_ns - before.system_ns
        if dc > 0 and ds > 0:
            cpu = dc / ds * now.online_cpus * 100.0
    mem_pct = now.mem_usage / now.mem_limit * 100.0 if now.mem_limit else 0.0
    cid = rec.short_id if trunc else rec.id
    return {
        "Container": cid,
        "ID": cid,
        "Name": rec.name,
        "CPUPerc": f"{cpu:.2f}%",
        "MemUsage": f"{binary_size(now.mem_usage)} / {binary_size(now.mem_limit)}",
        "MemPerc": f"{mem_pct:.2f}%",
        "NetIO": f"{human_size(now.net_rx)} / {human_size(now.net_tx)}",
        "BlockIO": f"{human_size(now.blk_read)} / {human_size(now.blk_write)}",
        "PIDs": str(now.pids),
    }


HEADERS = {
    "Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}  # fmt: skip
DEFAULT_FORMAT = (
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
)
