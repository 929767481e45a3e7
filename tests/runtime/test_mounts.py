"""The root filesystem: /proc, /dev, /sys, masked and read-only paths, binds, read-only root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = pytest.mark.root


def mounts_inside(runtime: Runtime) -> dict[str, tuple[str, list[str]]]:
    r = runtime.sh("cat /proc/self/mounts")
    out = {}
    for line in r.out.splitlines():
        _, target, fstype, opts, *_ = line.split()
        out[target] = (fstype, opts.split(","))
    return out


def test_standard_mounts(runtime: Runtime) -> None:
    m = mounts_inside(runtime)
    assert m["/proc"][0] == "proc"
    assert m["/dev"][0] == "tmpfs"
    assert m["/dev/pts"][0] == "devpts"
    assert m["/dev/shm"][0] == "tmpfs"
    assert m["/dev/mqueue"][0] == "mqueue"
    assert m["/sys"][0] == "sysfs" and "ro" in m["/sys"][1]
    assert "nosuid" in m["/proc"][1]


def test_no_host_mounts_visible(runtime: Runtime) -> None:
    m = mounts_inside(runtime)
    assert not any(t.startswith(str(runtime.base)) for t in m)
    assert "/work" not in m


def test_dev_nodes(runtime: Runtime) -> None:
    r = runtime.sh(
        "for d in null zero full random urandom tty; do test -c /dev/$d && echo $d; done;"
        "echo x > /dev/null && head -c 4 /dev/zero | wc -c; for l in ptmx fd stdin; do readlink /dev/$l; done"
    )
    lines = r.out.split()
    assert lines[:6] == ["null", "zero", "full", "random", "urandom", "tty"]
    assert lines[6] == "4"
    assert lines[7:] == ["pts/ptmx", "/proc/self/fd", "/proc/self/fd/0"]


def test_spec_devices_are_created(runtime: Runtime) -> None:
    cfg = base_config(["stat", "-c", "%F %t:%T %a %u", "/dev/mydev"])
    cfg["linux"]["devices"] = [{"path": "/dev/mydev", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600,
                                "uid": 0, "gid": 0}]
    r = runtime.run(cfg)
    assert r.out.strip() == "character special file 1:3 600 0"


def test_dev_shm_is_writable_and_sys_is_not(runtime: Runtime) -> None:
    r = runtime.sh("echo hi > /dev/shm/x && cat /dev/shm/x; mkdir /sys/x 2>/dev/null && echo sys-writable")
    assert r.out == "hi\n"


def test_masked_paths(runtime: Runtime) -> None:
    r = runtime.sh("wc -c < /proc/keys; ls /proc/acpi | wc -l; touch /proc/acpi/x 2>/dev/null || echo ro; "
                   "grep -c . /proc/timer_list")
    assert r.out.split() == ["0", "0", "ro", "0"]
    with open("/proc/timer_list") as f:
        assert f.read(100)  # the host's is not empty: the mask hid it


def test_readonly_paths(runtime: Runtime) -> None:
    r = runtime.sh("echo 1 > /proc/sys/vm/drop_caches 2>/dev/null || echo denied; cat /proc/sys/kernel/ostype")
    assert r.out.split() == ["denied", "Linux"]


def test_readonly_root(runtime: Runtime) -> None:
    cfg = base_config(["sh", "-c", "touch /x 2>/dev/null || echo ro; touch /dev/shm/y && echo shm-ok"])
    cfg["root"]["readonly"] = True
    r = runtime.run(cfg)
    assert r.out.split() == ["ro", "shm-ok"]


def test_writable_root_by_default(runtime: Runtime) -> None:
    bundle = runtime.bundle(base_config(["touch", "/created"]))
    assert runtime.run(base_config(["touch", "/created"]), bundle=bundle).code == 0
    assert (bundle / "rootfs/created").exists()


@pytest.mark.parametrize("ro", [True, False])
def test_bind_mount(runtime: Runtime, tmp_path: Path, ro: bool) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in").write_text("from host\n")
    cfg = base_config(["sh", "-c", "cat /data/in; echo new > /data/out 2>/dev/null || echo denied"])
    cfg["mounts"].append({"destination": "/data", "type": "bind", "source": str(data),
                          "options": ["rbind", "ro" if ro else "rw"]})
    r = runtime.run(cfg)
    if ro:
        assert r.out.split("\n")[:2] == ["from host", "denied"]
        assert not (data / "out").exists()
    else:
        assert r.out == "from host\n"
        assert (data / "out").read_text() == "new\n"


def test_bind_mount_of_a_file(runtime: Runtime, tmp_path: Path) -> None:
    f = tmp_path / "hosts"
    f.write_text("127.0.0.1 example\n")
    cfg = base_config(["cat", "/etc/hosts"])
    cfg["mounts"].append({"destination": "/etc/hosts", "type": "bind", "source": str(f), "options": ["bind", "ro"]})
    assert runtime.run(cfg).out == "127.0.0.1 example\n"


def test_tmpfs_mount_with_options(runtime: Runtime) -> None:
    cfg = base_config(["sh", "-c", "grep ' /scratch ' /proc/self/mounts"])
    cfg["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                          "options": ["nosuid", "nodev", "size=1m", "mode=700"]})
    r = runtime.run(cfg)
    fields = r.out.split()
    assert fields[2] == "tmpfs"
    assert {"nosuid", "nodev", "size=1024k", "mode=700"} <= set(fields[3].split(","))


def test_symlinked_proc_in_image_cannot_redirect_mount_to_host(runtime: Runtime, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    victim_dev = tmp_path / "victim-dev"
    victim_dev.mkdir()
    cfg = base_config(["sh", "-c", "test -e /proc/self/status && echo proc-ok"])
    bundle = runtime.bundle(cfg)
    os.rmdir(bundle / "rootfs/proc")
    os.symlink(str(victim), bundle / "rootfs/proc")  # absolute link to a host dir
    os.rmdir(bundle / "rootfs/dev")
    os.symlink("../../../../../../../../" + str(victim_dev).lstrip("/"), bundle / "rootfs/dev")
    r = runtime.run(cfg, bundle=bundle)
    assert r.out == "proc-ok\n", r.err
    for v in (victim, victim_dev):
        assert list(v.iterdir()) == []
        assert not os.path.ismount(v)
        with open("/proc/self/mountinfo") as f:
            assert str(v) not in f.read()
    # The link was followed inside the rootfs instead.
    assert (bundle / "rootfs" / str(victim).lstrip("/")).is_dir()


def test_bind_destination_through_symlink_stays_inside(runtime: Runtime, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "marker").write_text("m")
    outside = tmp_path / "outside"
    outside.mkdir()
    cfg = base_config(["cat", "/escape/marker"])
    cfg["mounts"].append({"destination": "/escape", "type": "bind", "source": str(src), "options": ["bind"]})
    bundle = runtime.bundle(cfg)
    os.symlink("/../../../../../../" + str(outside).lstrip("/"), bundle / "rootfs/escape")
    r = runtime.run(cfg, bundle=bundle)
    assert r.out == "m"
    assert not os.path.ismount(outside)
    assert list(outside.iterdir()) == []
