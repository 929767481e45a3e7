"""The cgroup v2 driver against a fake cgroup2 tree in a temp dir (no root needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from geedocker.runtime.cgroups import CgroupError, container_path, from_json, own_cgroups
from geedocker.runtime.cgroups.v2 import V2, shares_to_weight
from geedocker.runtime.spec_resources import DeviceRule, Resources


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A fake /sys/fs/cgroup: the root offers cpu, memory, pids; nothing enabled below yet."""
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    (root / "cgroup.procs").write_text("")
    return root


def make_dir_like_kernel(cg: V2) -> None:
    """What the kernel would do on mkdir: the interface files exist, with the enabled controllers."""
    parent_enabled = (cg.dir.parent / "cgroup.subtree_control").read_text().replace("+", "").split()
    (cg.dir / "cgroup.controllers").write_text(" ".join(parent_enabled) + "\n")
    for f in ("cgroup.procs", "cgroup.subtree_control", "cgroup.freeze", "memory.max", "memory.swap.max",
              "memory.low", "cpu.max", "cpu.weight", "pids.max"):
        (cg.dir / f).write_text("")


def test_create_enables_controllers_in_ancestors(tree: Path) -> None:
    cg = V2(tree, "/geedocker/abc")
    (tree / "geedocker").mkdir()
    (tree / "geedocker/cgroup.controllers").write_text("cpu memory pids\n")
    (tree / "geedocker/cgroup.subtree_control").write_text("")
    cg.create()
    assert cg.dir.is_dir()
    assert (tree / "cgroup.subtree_control").read_text() == "+cpu +cpuset +memory +pids +io"
    assert (tree / "geedocker/cgroup.subtree_control").read_text() == "+cpu +memory +pids"


def test_apply_writes_the_v2_files(tree: Path) -> None:
    cg = V2(tree, "/c1")
    cg.create()
    make_dir_like_kernel(cg)
    cg.apply(Resources(memory_limit=64 << 20, memory_swap=96 << 20, memory_reservation=32 << 20, cpu_shares=1024,
                       cpu_quota=50000, cpu_period=100000, pids_limit=20, unified=(("memory.high", "100M"),)))
    assert (cg.dir / "memory.max").read_text() == str(64 << 20)
    assert (cg.dir / "memory.swap.max").read_text() == str(32 << 20)  # v2 swap excludes memory
    assert (cg.dir / "memory.low").read_text() == str(32 << 20)
    assert (cg.dir / "cpu.max").read_text() == "50000 100000"
    assert (cg.dir / "cpu.weight").read_text() == str(shares_to_weight(1024))
    assert (cg.dir / "pids.max").read_text() == "20"
    assert (cg.dir / "memory.high").read_text() == "100M"


def test_unlimited_values(tree: Path) -> None:
    cg = V2(tree, "/c2")
    cg.create()
    make_dir_like_kernel(cg)
    cg.apply(Resources(memory_limit=-1, memory_swap=-1, cpu_quota=-1, pids_limit=0))
    assert (cg.dir / "memory.max").read_text() == "max"
    assert (cg.dir / "memory.swap.max").read_text() == "max"
    assert (cg.dir / "cpu.max").read_text() == "max 100000"
    assert (cg.dir / "pids.max").read_text() == "max"


def test_missing_controller_is_a_clear_error(tree: Path) -> None:
    (tree / "cgroup.controllers").write_text("cpu\n")
    cg = V2(tree, "/c3")
    cg.create()
    make_dir_like_kernel(cg)
    with pytest.raises(CgroupError, match="memory controller"):
        cg.apply(Resources(memory_limit=1 << 20))


def test_swap_below_memory_refused(tree: Path) -> None:
    cg = V2(tree, "/c4")
    cg.create()
    make_dir_like_kernel(cg)
    with pytest.raises(CgroupError, match="below"):
        cg.apply(Resources(memory_limit=100, memory_swap=50))


def test_add_pids_freeze_and_json_round_trip(tree: Path) -> None:
    cg = V2(tree, "/c5")
    cg.create()
    make_dir_like_kernel(cg)
    cg.add(1234)
    assert (cg.dir / "cgroup.procs").read_text() == "1234"
    assert cg.pids() == [1234]
    cg.freeze()
    assert cg.frozen()
    cg.thaw()
    assert not cg.frozen()
    again = from_json(cg.to_json())
    assert isinstance(again, V2) and again.dir == cg.dir


def test_destroy_removes_empty_dirs(tree: Path) -> None:
    cg = V2(tree, "/c6")
    cg.create()
    (cg.dir / "sub").mkdir()
    cg.destroy()
    assert not cg.dir.exists()


def test_device_rules_only_warn_on_v2(tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    cg = V2(tree, "/c7")
    cg.create()
    make_dir_like_kernel(cg)
    cg.apply(Resources(devices=(DeviceRule(False),)))
    assert "not enforced" in caplog.text


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (1024, 39), (262144, 10000)])
def test_shares_to_weight(shares: int, weight: int) -> None:
    assert shares_to_weight(shares) == weight


def test_container_path_rules() -> None:
    assert container_path("", "abc", "/user.slice") == "/user.slice/geedocker/abc"
    assert container_path("/abs/x", "abc", "/user.slice") == "/abs/x"
    assert container_path("rel/y", "abc", "/") == "/rel/y"
    with pytest.raises(CgroupError):
        container_path("../../etc", "abc", "/")
    with pytest.raises(CgroupError, match="systemd"):
        container_path("system.slice:geedocker:abc", "abc", "/")


def test_bad_path_refused(tree: Path) -> None:
    with pytest.raises(CgroupError):
        V2(tree, "relative")


def test_own_cgroups_parses_proc_cgroup(tmp_path: Path) -> None:
    f = tmp_path / "cgroup"
    f.write_text("4:memory:/a/b\n2:cpu,cpuacct:/\n1:name=systemd:/s\n0::/u\n")
    assert own_cgroups(str(f)) == {"memory": "/a/b", "cpu": "/", "cpuacct": "/", "name=systemd": "/s", "": "/u"}


def test_destroy_removes_geedockers_own_parent_once_empty(tree: Path) -> None:
    a, b = V2(tree, "/geedocker/a"), V2(tree, "/geedocker/b")
    a.create()
    b.create()
    a.destroy()
    assert (tree / "geedocker").is_dir()  # b still lives there
    b.destroy()
    assert not (tree / "geedocker").exists()
    mine = V2(tree, "/mine/c")  # a parent the caller named is not geedocker's to remove
    mine.create()
    mine.destroy()
    assert (tree / "mine").is_dir() and not (tree / "mine/c").exists()


@pytest.mark.parametrize(("resources", "field"), [(Resources(memory_swappiness=10), "memory.swappiness"),
                                                  (Resources(disable_oom_killer=True), "memory.disableOOMKiller")])
def test_v1_only_memory_settings_are_refused_clearly(tree: Path, resources: Resources, field: str) -> None:
    cg = V2(tree, "/c1")
    cg.create()
    make_dir_like_kernel(cg)
    with pytest.raises(CgroupError, match=f"linux.resources.{field}: cgroup v2"):
        cg.apply(resources)


def test_oom_killed_reads_the_oom_kill_count_of_either_driver(tree: Path, tmp_path: Path) -> None:
    from geedocker.runtime.cgroups.v1 import V1

    cg = V2(tree, "/geedocker/oom")
    cg.dir.mkdir(parents=True)
    assert not cg.oom_killed()  # no memory.events: nothing known, not killed
    (cg.dir / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    assert not cg.oom_killed()
    (cg.dir / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
    assert cg.oom_killed()
    mem = tmp_path / "v1memory"
    mem.mkdir()
    v1 = V1({"memory": mem})
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    assert v1.oom_killed()
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert not v1.oom_killed()
    assert not V1({}).oom_killed()  # no memory controller
