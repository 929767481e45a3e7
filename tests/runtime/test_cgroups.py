"""cgroup v1 limits on this host: memory, pids, cpu; OOM -> 137; a bounded fork bomb; cleanup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geedocker import runtime as rt
from geedocker.runtime import cgroups
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = pytest.mark.root

MIB = 1024 * 1024


def cgroup_dirs(runtime: Runtime, cid: str) -> dict[str, Path]:
    saved = json.loads((runtime.root / cid / "state.json").read_text())
    cg = saved["cgroup"]
    if cg["version"] == 2:
        return {"": Path(cg["mount"]) / cg["path"].lstrip("/")}
    return {k: Path(v) for k, v in cg["dirs"].items()}


@pytest.fixture(autouse=True)
def _v1_only() -> None:
    if cgroups.is_unified():
        pytest.skip("these tests read cgroup v1 files")


def test_limits_are_written(runtime: Runtime) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["linux"]["resources"] = {"memory": {"limit": 64 * MIB, "swap": 64 * MIB, "reservation": 32 * MIB},
                                 "cpu": {"shares": 512, "quota": 50000, "period": 100000},
                                 "pids": {"limit": 20}}
    cid = runtime.create(cfg)
    d = cgroup_dirs(runtime, cid)
    assert (d["memory"] / "memory.limit_in_bytes").read_text().strip() == str(64 * MIB)
    assert (d["memory"] / "memory.memsw.limit_in_bytes").read_text().strip() == str(64 * MIB)
    assert (d["memory"] / "memory.soft_limit_in_bytes").read_text().strip() == str(32 * MIB)
    assert (d["cpu"] / "cpu.shares").read_text().strip() == "512"
    assert (d["cpu"] / "cpu.cfs_quota_us").read_text().strip() == "50000"
    assert (d["pids"] / "pids.max").read_text().strip() == "20"
    pid = rt.state(runtime.root, cid).pid
    for ctrl in ("memory", "pids", "cpu"):
        assert str(pid) in (d[ctrl] / "cgroup.procs").read_text().split()


def test_relative_cgroups_path_nests_below_our_cgroup(runtime: Runtime) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["linux"]["cgroupsPath"] = "geedocker-test/custom"
    cid = runtime.create(cfg)
    own = cgroups.own_cgroups()
    d = cgroup_dirs(runtime, cid)
    assert str(d["memory"]).endswith(own["memory"].rstrip("/") + "/geedocker-test/custom")


def test_memory_hog_is_killed_137(runtime: Runtime) -> None:
    cfg = base_config(["tail", "/dev/zero"])
    cfg["linux"]["resources"] = {"memory": {"limit": 16 * MIB, "swap": 16 * MIB}}
    assert runtime.run(cfg).code == 137


def test_pids_limit_stops_a_fork_bomb(runtime: Runtime) -> None:
    script = "i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; echo all-started"
    cfg = base_config(["sh", "-c", script])
    cfg["linux"]["resources"] = {"pids": {"limit": 20}}
    r = runtime.run(cfg)
    assert r.code != 0
    assert "all-started" not in r.out
    assert "fork" in r.err or "Resource temporarily unavailable" in r.err


def test_same_loop_without_limit_completes(runtime: Runtime) -> None:
    r = runtime.sh("i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; echo all-started")
    assert (r.code, r.out) == (0, "all-started\n")


def test_delete_removes_cgroups_and_kills_stragglers(runtime: Runtime) -> None:
    cfg = base_config(["sh", "-c", "sleep 60 & sleep 60 & wait"])
    cfg["linux"]["namespaces"] = [{"type": t} for t in ("ipc", "uts", "mount")]  # no pid ns: no auto-kill
    cid = runtime.create(cfg)
    rt.start(runtime.root, cid)
    dirs = cgroup_dirs(runtime, cid)
    rt.delete(runtime.root, cid, force=True)
    for d in dirs.values():
        assert not d.exists(), d


def test_systemd_style_path_is_refused(runtime: Runtime) -> None:
    cfg = base_config(["true"])
    cfg["linux"]["cgroupsPath"] = "system.slice:geedocker:abc"
    with pytest.raises(cgroups.CgroupError, match="systemd"):
        runtime.run(cfg)
