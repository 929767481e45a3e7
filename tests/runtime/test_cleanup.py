"""After delete nothing is left: no mounts, no cgroups, no processes, no state. No host fd leaks in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from geedocker import runtime as rt
from geedocker.errors import ContainerError
from geedocker.runtime.state import pid_alive
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = pytest.mark.root


def host_mounts(below: Path) -> list[str]:
    """Host mount points below ``below`` (other tests on the machine mount things elsewhere)."""
    with open("/proc/self/mountinfo") as f:
        return [t for t in (line.split()[4] for line in f) if t.startswith(str(below))]


def test_no_leftovers_after_delete(runtime: Runtime, tmp_path: Path) -> None:
    data = tmp_path / "vol"
    data.mkdir()
    before = host_mounts(runtime.base)
    assert before == []
    cfg = base_config(["sh", "-c", "sleep 60 & exec sleep 60"])
    cfg["mounts"].append({"destination": "/vol", "type": "bind", "source": str(data), "options": ["rbind"]})
    cid = runtime.create(cfg)
    rt.start(runtime.root, cid)
    st = rt.state(runtime.root, cid)
    saved = json.loads((runtime.root / cid / "state.json").read_text())
    pids = rt.ps(runtime.root, cid)
    assert host_mounts(runtime.base) == []  # the container's mounts never propagate to the host
    rt.delete(runtime.root, cid, force=True)
    assert host_mounts(runtime.base) == []
    assert host_mounts(data) == []
    for d in saved["cgroup"].get("dirs", {}).values():
        assert not Path(d).exists()
        parent = Path(d).parent
        assert parent.name == "geedocker"  # the runtime's default path
        # geedocker's own parent goes with its last container
        assert not parent.exists() or any(p.is_dir() for p in parent.iterdir())
    assert not pid_alive(st.pid, 0)
    assert all(not pid_alive(p, 0) for p in pids)
    assert not (runtime.root / cid).exists()


def test_only_stdio_fds_reach_the_process(runtime: Runtime, tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)  # inheritable or not, it must not leak
    os.set_inheritable(fd, True)
    try:
        r = runtime.sh("ls /proc/$$/fd; exit 0")  # sh (pid 1) lists its own fds: ls is a child
    finally:
        os.close(fd)
    assert sorted(r.out.split()) == ["0", "1", "2"]


def test_cwd_through_leaked_host_fd_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    """CVE-2024-21626: a cwd of /proc/self/fd/N must never land in a host directory."""
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(ContainerError):
            runtime.run(base_config(["ls", "-la"], cwd=f"/proc/self/fd/{fd}"))
    finally:
        os.close(fd)
    assert rt.list_(runtime.root) == []


def test_failed_create_leaves_nothing(runtime: Runtime) -> None:
    cfg = base_config(["true"])
    cfg["mounts"].append({"destination": "/x", "type": "bind", "source": "/nonexistent-source", "options": ["bind"]})
    with pytest.raises(ContainerError, match="nonexistent-source"):
        runtime.run(cfg)
    assert host_mounts(runtime.base) == []
    assert rt.list_(runtime.root) == []
    assert list(runtime.root.iterdir()) == []


def test_force_delete_of_an_interrupted_create_removes_its_cgroup(runtime: Runtime) -> None:
    """A create killed after it made the container's (default) cgroup and before it saved any state: a forced
    delete takes the cgroup with the dir, not only the dir."""
    from geedocker.runtime import cgroups
    from geedocker.runtime.state import ContainerDir

    cid = "interrupted"
    cdir = ContainerDir(runtime.root.absolute(), cid)
    cdir.make()
    cg = cgroups.for_container(cgroups.default_path(os.fspath(cdir.root), cid), cid)
    try:
        cg.create()
        dirs = [Path(d) for d in cg.to_json()["dirs"].values()]  # type: ignore[union-attr]
        assert dirs and all(d.is_dir() for d in dirs)
        rt.delete(runtime.root, cid, force=True)
        assert not cdir.exists()
        assert [d for d in dirs if d.exists()] == []
    finally:
        cg.destroy()
