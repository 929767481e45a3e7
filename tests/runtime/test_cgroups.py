"""cgroup v1 limits on this host: memory, pids, cpu; OOM -> 137; a bounded fork bomb; cleanup."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker import runtime as rt
from geedocker.runtime import cgroups
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = pytest.mark.root

MIB = 1024 * 1024
CUSTOM = f"geedocker-test/custom-{os.getpid()}"  # unique: other runs of these tests may share the machine


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


def test_swappiness_and_the_oom_killer_switch_are_written(runtime: Runtime) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["linux"]["resources"] = {"memory": {"limit": 64 * MIB, "swappiness": 7, "disableOOMKiller": True,
                                            "kernel": 32 * MIB, "kernelTCP": MIB}}  # the last two ignored
    cid = runtime.create(cfg)
    d = cgroup_dirs(runtime, cid)
    assert (d["memory"] / "memory.swappiness").read_text().strip() == "7"
    assert "oom_kill_disable 1" in (d["memory"] / "memory.oom_control").read_text()


@pytest.fixture
def test_parent_cgroups() -> Iterator[None]:
    """Remove the (then empty) ``geedocker-test`` parent cgroups this test makes."""
    yield
    for d in {p.parent for p in cgroups.from_json(_probe_dirs()).__dict__["dirs"].values()}:
        with contextlib.suppress(OSError):
            d.rmdir()


def _probe_dirs() -> dict[str, object]:
    from geedocker.runtime.cgroups.v1 import V1

    return V1.for_host(CUSTOM, "x", cgroups.own_cgroups()).to_json()


def test_relative_cgroups_path_nests_below_our_cgroup(runtime: Runtime, test_parent_cgroups: None) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["linux"]["cgroupsPath"] = CUSTOM
    cid = runtime.create(cfg)
    own = cgroups.own_cgroups()
    d = cgroup_dirs(runtime, cid)
    assert str(d["memory"]).endswith(own["memory"].rstrip("/") + "/" + CUSTOM)
    rt.delete(runtime.root, cid)
    assert not d["memory"].exists()


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


def test_device_rules_are_enforced(runtime: Runtime) -> None:
    # Major 240 is "local/experimental": no driver, so an allowed open fails with ENXIO, a denied one EPERM.
    script = "mknod /tmp/dev c 240 0 && echo made; head -c 1 /tmp/dev; head -c 1 /dev/zero | wc -c"
    cfg = base_config(["sh", "-c", script])
    cfg["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    r = runtime.run(cfg)
    # mknod stays allowed (runc's default "c *:* m"), opening a device not allowed is not, /dev/zero is.
    assert r.out.split() == ["made", "1"]
    assert "Operation not permitted" in r.err


def test_no_device_rules_means_no_restriction(runtime: Runtime) -> None:
    r = runtime.sh("mknod /tmp/dev c 240 0 && head -c 1 /tmp/dev")
    assert "No such device" in r.err
    assert "Operation not permitted" not in r.err


def test_update_changes_live_limits(runtime: Runtime) -> None:
    cid = runtime.create(base_config(["sleep", "60"]))
    d = cgroup_dirs(runtime, cid)
    rt.update(runtime.root, cid, {"memory": {"limit": 48 * MIB}, "pids": {"limit": 15}})
    assert (d["memory"] / "memory.limit_in_bytes").read_text().strip() == str(48 * MIB)
    assert (d["pids"] / "pids.max").read_text().strip() == "15"


def test_default_cgroup_is_unique_per_runtime_root(runtime: Runtime, tmp_path: Path) -> None:
    cid = runtime.create(base_config(["sleep", "60"]))
    other_root = tmp_path / "other-root"
    mine = cgroup_dirs(runtime, cid)
    other = cgroups.for_container(cgroups.default_path(str(other_root), cid), cid).to_json()
    assert str(mine["pids"]) not in json.dumps(other)


def test_cgroup_in_use_by_others_is_refused_and_left_alone(runtime: Runtime, test_parent_cgroups: None) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["linux"]["cgroupsPath"] = f"geedocker-test/shared-{os.getpid()}"
    a = runtime.create(cfg)
    pid = rt.state(runtime.root, a).pid
    with pytest.raises(cgroups.CgroupError, match="already in use"):
        runtime.create(cfg)
    assert rt.state(runtime.root, a).pid == pid
    from geedocker.runtime.state import pid_alive

    assert pid_alive(pid, 0)
    rt.delete(runtime.root, a)


def test_warm_up_migration_leaves_the_process_where_it_is() -> None:
    """The warm-up moves this process into the cgroups it is in (a no-op move that takes the kernel's lock),
    from a thread that ends by itself."""
    import subprocess
    import sys

    src = str(Path(__file__).resolve().parents[2] / "src")
    code = (f"import os, sys, time; sys.path.insert(0, {src!r})\n"
            "from geedocker.runtime import cgroups\n"
            "before = open('/proc/self/cgroup').read()\n"
            "cgroups.warm_up_migration()\n"
            "threads = len(os.listdir('/proc/self/task'))\n"
            "deadline = time.monotonic() + 10\n"
            "while len(os.listdir('/proc/self/task')) > 1 and time.monotonic() < deadline:\n"
            "    time.sleep(0.01)\n"
            "print(threads, len(os.listdir('/proc/self/task')), open('/proc/self/cgroup').read() == before)\n")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    started, left, same = out.stdout.split()
    assert int(started) in (1, 2)  # the thread may be done already
    assert (left, same) == ("1", "True")


def test_prepare_then_create_uses_the_prepared_cgroup_and_discard_removes_an_unused_one(runtime: Runtime) -> None:
    path = f"/geedocker-test/prepared-{os.getpid()}"
    rt.prepare_cgroup(path, "c1")
    dirs = {k: Path(v) for k, v in cgroups.for_container(path, "c1").to_json()["dirs"].items()}  # type: ignore[union-attr]
    assert all(d.is_dir() for d in dirs.values())
    rt.discard_cgroup(path, "c1")  # no create came
    assert not any(d.exists() for d in dirs.values())
    cfg = base_config(["sleep", "60"])
    cfg["linux"]["cgroupsPath"] = path
    rt.prepare_cgroup(path, "c2")
    cid = runtime.create(cfg, cid="c2")
    pid = rt.state(runtime.root, cid).pid
    assert str(pid) in (dirs["pids"] / "cgroup.procs").read_text().split()
    rt.discard_cgroup(path, cid)  # in use: left alone
    assert dirs["pids"].is_dir()
    rt.delete(runtime.root, cid, force=True)
    assert not any(d.exists() for d in dirs.values())
    for d in {d.parent for d in dirs.values()}:
        with contextlib.suppress(OSError):
            d.rmdir()
