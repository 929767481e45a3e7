"""PID, UTS, IPC, network and mount namespaces."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker import runtime as rt
from geedocker.errors import ContainerError
from geedocker.runtime import cgroups
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config, make_bundle

pytestmark = pytest.mark.root


def test_process_is_pid_1(runtime: Runtime) -> None:
    assert runtime.sh("echo $$").out == "1\n"


def test_host_pids_are_invisible(runtime: Runtime) -> None:
    r = runtime.sh("ls /proc | grep -E '^[0-9]+$'")
    pids = {int(x) for x in r.out.split()}
    assert 1 in pids
    assert os.getpid() not in pids or os.getpid() < 10  # our own pid is a host pid
    assert len(pids) <= 4, pids  # sh, ls, grep: nothing of the host


def test_namespaces_differ_from_host(runtime: Runtime) -> None:
    r = runtime.sh("for n in pid net ipc uts mnt; do readlink /proc/1/ns/$n; done")
    inside = r.out.split()
    host = [os.readlink(f"/proc/self/ns/{n}") for n in ("pid", "net", "ipc", "uts", "mnt")]
    assert len(inside) == 5
    assert all(a != b for a, b in zip(inside, host, strict=True))


def test_shared_network_namespace_when_not_listed(runtime: Runtime) -> None:
    cfg = base_config(["readlink", "/proc/self/ns/net"])
    cfg["linux"]["namespaces"] = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    assert runtime.run(cfg).out.strip() == os.readlink("/proc/self/ns/net")


def test_join_namespace_by_path(runtime: Runtime) -> None:
    a = runtime.create(base_config(["sleep", "60"]))
    rt.start(runtime.root, a)
    pid = rt.state(runtime.root, a).pid
    cfg = base_config(["readlink", "/proc/self/ns/uts"])
    cfg["linux"]["namespaces"] = [{"type": "pid"}, {"type": "mount"}, {"type": "uts", "path": f"/proc/{pid}/ns/uts"}]
    del cfg["hostname"]
    assert runtime.run(cfg).out.strip() == os.readlink(f"/proc/{pid}/ns/uts")


def test_network_namespace_has_only_loopback(runtime: Runtime) -> None:
    r = runtime.sh("ls /sys/class/net")
    assert r.out.split() == ["lo"]


def test_cgroup_namespace(runtime: Runtime) -> None:
    cfg = base_config(["cat", "/proc/self/cgroup"])
    cfg["linux"]["namespaces"].append({"type": "cgroup"})
    r = runtime.run(cfg)
    lines = [line for line in r.out.splitlines() if ":memory:" in line or ":pids:" in line]
    assert lines and all(line.endswith(":/") for line in lines), r.out


@pytest.mark.parametrize("cgroupns", [True, False], ids=["cgroupns", "no-cgroupns"])
def test_the_cgroup_mount_shows_the_containers_own_cgroup_only(runtime: Runtime, cgroupns: bool) -> None:
    """/sys/fs/cgroup holds the container's own cgroup dirs (bound from the host's hierarchies), read-only,
    with or without a cgroup namespace: its pids.max is the container's limit (the host's root has none)."""
    pids = "/sys/fs/cgroup/pids.max" if cgroups.is_unified() else "/sys/fs/cgroup/pids/pids.max"
    cfg = base_config(["sh", "-c", f"cat {pids}; echo ---; grep ' /sys/fs/cgroup' /proc/self/mountinfo; "
                                   "echo ---; mkdir /sys/fs/cgroup/x 2>&1 || true"])
    cfg["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                          "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})
    cfg["linux"]["resources"] = {"pids": {"limit": 1234}}
    if cgroupns:
        cfg["linux"]["namespaces"].append({"type": "cgroup"})
    r = runtime.run(cfg)
    assert r.code == 0, r.err
    limit, mounts, mkdir = r.out.split("---\n")
    assert limit.strip() == "1234"
    lines = mounts.splitlines()
    assert lines and all(" ro," in line for line in lines), mounts
    if cgroupns:  # the namespace's root is the container's cgroup: its mounts show it as "/"
        assert all(line.split()[3] == "/" for line in lines), mounts
    assert "Read-only file system" in mkdir


@pytest.fixture
def searchable_dir() -> Iterator[Path]:
    """A dir whose parents a mapped (non-host-root) user can traverse (pytest's tmp dirs are 0700)."""
    d = Path(tempfile.mkdtemp(prefix="geedocker-userns-", dir="/tmp"))
    os.chmod(d, 0o711)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_user_namespace_with_mappings(runtime: Runtime, searchable_dir: Path) -> None:
    cfg = base_config(["sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/f; stat -c %u /tmp/f"])
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle = make_bundle(searchable_dir / "bundle", cfg, runtime.template)
    os.chown(bundle / "rootfs", 100000, 100000)
    os.chown(bundle / "rootfs/tmp", 100000, 100000)
    r = runtime.run(cfg, bundle=bundle)
    assert r.code == 0, r.err
    lines = r.out.split("\n")
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "100000", "65536"]
    assert lines[2] == "0"
    assert os.stat(bundle / "rootfs/tmp/f").st_uid == 100000


@pytest.mark.skipif(not os.path.exists("/proc/self/ns/time"), reason="no time namespaces")
def test_time_namespace(runtime: Runtime) -> None:
    cfg = base_config(["readlink", "/proc/self/ns/time"])
    cfg["linux"]["namespaces"].append({"type": "time"})
    assert runtime.run(cfg).out.strip() != os.readlink("/proc/self/ns/time")


def _mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]


def test_every_namespace_absent_from_the_config_is_inherited(runtime: Runtime) -> None:
    """The spec: a type not in linux.namespaces is the runtime's own, the mount namespace too (the root is then
    entered with chroot, and what the container mounted in ours is unmounted when it is deleted)."""
    names = ("pid", "net", "ipc", "uts", "mnt", "cgroup")
    cfg = base_config(["sh", "-c", "for n in " + " ".join(names) + "; do readlink /proc/self/ns/$n; done; ls /"])
    cfg["linux"]["namespaces"] = []
    del cfg["linux"]["maskedPaths"], cfg["linux"]["readonlyPaths"], cfg["hostname"]
    bundle = runtime.bundle(cfg)
    r = runtime.run(cfg, bundle=bundle)
    assert r.code == 0, r.err
    lines = r.out.split()
    assert lines[:len(names)] == [os.readlink(f"/proc/self/ns/{n}") for n in names]
    assert "bin" in lines[len(names):]  # the container's root, not the host's
    assert _mounts_under(bundle) == []  # run deletes the container: its mounts in our namespace went with it


def test_masked_paths_without_a_mount_namespace_are_refused(runtime: Runtime) -> None:
    cfg = base_config(["true"])
    cfg["linux"]["namespaces"] = [{"type": "pid"}]
    del cfg["hostname"]
    with pytest.raises(ContainerError, match="maskedPaths/readonlyPaths need a mount namespace"):
        runtime.run(cfg)


def test_a_mount_namespace_given_by_path_is_joined(runtime: Runtime) -> None:
    import subprocess
    import time

    holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sleep", "60"])
    try:
        mnt = f"/proc/{holder.pid}/ns/mnt"
        deadline = time.monotonic() + 5
        while os.readlink(mnt) == os.readlink("/proc/self/ns/mnt"):  # until unshare has made it
            assert time.monotonic() < deadline
            time.sleep(0.02)
        cfg = base_config(["readlink", "/proc/self/ns/mnt"])
        cfg["linux"]["namespaces"] = [{"type": "pid"}, {"type": "mount", "path": mnt}]
        del cfg["hostname"]
        r = runtime.run(cfg)
        assert r.code == 0, r.err
        assert r.out.strip() == os.readlink(mnt)
    finally:
        holder.kill()
        holder.wait()
