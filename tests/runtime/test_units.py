"""Small pure pieces: capability names, signal parsing, status guards, mount options, safe paths."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from geedocker.errors import ContainerStateError, UsageError
from geedocker.runtime import capabilities, paths, rootfs, signals, syscalls
from geedocker.runtime.state import ContainerDir, State, check_id, proc_stat
from geedocker.runtime.status import Status


def test_capability_names() -> None:
    assert capabilities.number("CAP_SYS_ADMIN") == 21
    assert capabilities.number("sys_admin") == 21
    assert capabilities.number("NET_BIND_SERVICE") == 10
    assert capabilities.mask(["CAP_CHOWN", "CAP_KILL"]) == 0b100001
    assert capabilities.names(0b100001) == ["CAP_CHOWN", "CAP_KILL"]
    assert capabilities.NAMES[40] == "CAP_CHECKPOINT_RESTORE"
    with pytest.raises(capabilities.CapabilityError, match="CAP_BOGUS"):
        capabilities.number("CAP_BOGUS")


@pytest.mark.parametrize(
    ("given", "want"),
    [(9, 9), ("9", 9), ("KILL", 9), ("SIGKILL", 9), ("sigterm", 15), ("TERM", 15), ("HUP", 1),
     ("SIGRTMIN+1", signal.SIGRTMIN + 1), ("RTMAX-2", signal.SIGRTMAX - 2)],
)
def test_signal_parsing(given: int | str, want: int) -> None:
    assert signals.parse(given) == want


@pytest.mark.parametrize("bad", ["BOGUS", "0", 0, 999, "SIGRTMIN+x"])
def test_bad_signals(bad: int | str) -> None:
    with pytest.raises(UsageError):
        signals.parse(bad)


def test_status_guards() -> None:
    assert Status.CREATED.can_start() and not Status.RUNNING.can_start()
    assert Status.RUNNING.can_kill() and Status.CREATED.can_kill() and not Status.STOPPED.can_kill()
    assert Status.STOPPED.can_delete() and Status.CREATED.can_delete() and not Status.RUNNING.can_delete()
    assert Status.RUNNING.can_exec() and not Status.STOPPED.can_exec()
    assert Status.RUNNING.can_pause() and Status.PAUSED.can_resume() and not Status.RUNNING.can_resume()
    Status.CREATED.require("start", "x")
    with pytest.raises(ContainerStateError, match="cannot start container x: it is running"):
        Status.RUNNING.require("start", "x")


def test_state_json() -> None:
    st = State("1.2.0", "abc", Status.RUNNING, 42, "/b", {"k": "v"})
    assert st.to_json() == {"ociVersion": "1.2.0", "id": "abc", "status": "running", "pid": 42, "bundle": "/b",
                            "annotations": {"k": "v"}}
    stopped = State("1.2.0", "abc", Status.STOPPED, 42, "/b")
    assert stopped.to_json()["pid"] == 0


def test_ids() -> None:
    check_id("abc-1.2_x")
    for bad in ("", "../x", "a/b", ".hidden", "x" * 200):
        with pytest.raises(UsageError):
            check_id(bad)


def test_container_dir_conflict(tmp_path: Path) -> None:
    from geedocker.errors import NameConflictError

    d = ContainerDir(tmp_path, "abc")
    d.make()
    with pytest.raises(NameConflictError):
        ContainerDir(tmp_path, "abc").make()


def test_proc_stat_of_self() -> None:
    st = proc_stat(os.getpid())
    assert st is not None and st[0] in "RS" and st[1] > 0
    assert proc_stat(2**22 + 7) is None


def test_mount_options() -> None:
    p = rootfs.parse_options(["nosuid", "noexec", "nodev", "ro", "mode=755", "size=65536k", "rprivate"])
    assert p.flags == syscalls.MS_NOSUID | syscalls.MS_NOEXEC | syscalls.MS_NODEV | syscalls.MS_RDONLY
    assert p.data == "mode=755,size=65536k"
    assert p.propagation == (syscalls.MS_PRIVATE | syscalls.MS_REC,)
    q = rootfs.parse_options(["rbind", "ro", "rw"])
    assert q.is_bind and q.flags == syscalls.MS_BIND | syscalls.MS_REC
    with pytest.raises(rootfs.MountError, match="idmap"):
        rootfs.parse_options(["idmap"])


def test_secure_join_keeps_symlinks_inside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink("/etc", root / "abs")
    os.symlink("../../../../../../etc", root / "rel")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink("/proc/self/root", root / "magic")
    r = str(root)
    assert paths.secure_join(r, "/abs/passwd") == f"{r}/etc/passwd"
    assert paths.secure_join(r, "/rel/passwd") == f"{r}/etc/passwd"
    assert paths.secure_join(r, "/../../x") == f"{r}/x"
    assert paths.secure_join(r, "a/./b/../c") == f"{r}/a/c"
    assert paths.secure_join(r, "/magic").startswith(r + "/")
    with pytest.raises(paths.UnsafePathError, match="too many levels"):
        paths.secure_join(r, "/loop1")


def test_open_inside_rejects_an_escape(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(paths.UnsafePathError, match="outside the container root"):
        paths.open_inside(str(root), str(outside))
    fd = paths.open_inside(str(root), str(root))
    os.close(fd)


def test_make_target_creates_dirs_and_files(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    os.symlink("/real", root / "link")
    t = paths.make_target(str(root), "/link/sub/file", directory=False)
    assert t == f"{root}/real/sub/file"
    assert (root / "real/sub/file").is_file()


def test_container_dir_remove_takes_files_subdirs_and_links_but_not_link_targets(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    cdir = ContainerDir(tmp_path / "root", "c1")
    cdir.make()
    (cdir.path / "state.json").write_text("{}")
    (cdir.path / "sub" / "deeper").mkdir(parents=True)
    (cdir.path / "sub" / "deeper" / "f").write_text("y")
    (cdir.path / "link").symlink_to(outside)
    cdir.remove()
    assert not cdir.path.exists()
    assert (outside / "keep").read_text() == "x"


def test_default_device_rules_are_added_once_and_after_a_later_deny_again() -> None:
    from geedocker.runtime import cgroups
    from geedocker.runtime.spec_resources import DeviceRule, Resources

    deny_all = DeviceRule(False, "a", None, None, "rwm")
    null = DeviceRule(True, "c", 1, 3, "rwm")
    res = cgroups.with_default_devices(Resources(devices=(deny_all, null)), ())
    assert res.devices[:2] == (deny_all, null)
    assert res.devices.count(null) == 1
    assert set(cgroups.DEFAULT_ALLOWED_DEVICES) <= set(res.devices)
    # a deny of /dev/null after the allow: the defaults allow it again at the end, as runc's do
    deny_null = DeviceRule(False, "c", 1, 3, "rwm")
    res = cgroups.with_default_devices(Resources(devices=(deny_all, null, deny_null)), ())
    assert res.devices[-len(cgroups.DEFAULT_ALLOWED_DEVICES):] == cgroups.DEFAULT_ALLOWED_DEVICES
    assert cgroups.with_default_devices(Resources(), ()) == Resources()


def test_the_bounding_set_read_from_proc_is_the_one_prctl_reports() -> None:
    assert capabilities.bounding_now() == capabilities.bounding_by_prctl() != 0


def test_this_processs_cgroups_and_mounts_are_read_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from geedocker.runtime import cgroups
    from geedocker.runtime.cgroups import host

    monkeypatch.setattr(host, "_read_once", {})
    reads: list[str] = []
    real = host.read_text
    monkeypatch.setattr(host, "read_text", lambda p: reads.append(str(p)) or real(p))
    first = cgroups.own_cgroups()
    assert cgroups.own_cgroups() == first
    cgroups.is_unified()
    cgroups.is_unified()
    other = tmp_path / "cgroup"
    other.write_text("1:pids:/a\n")
    assert cgroups.own_cgroups(str(other)) == {"pids": "/a"}
    other.write_text("1:pids:/b\n")
    assert cgroups.own_cgroups(str(other)) == {"pids": "/b"}  # any other file: read each time
    assert reads == [cgroups.SELF_CGROUP, cgroups.SELF_MOUNTINFO, str(other), str(other)]


def test_a_send_to_a_side_that_failed_raises_its_error_not_a_broken_pipe() -> None:
    from geedocker.errors import CommandNotFound
    from geedocker.runtime import sync

    parent, child = sync.pair()
    child.send(b'{"type": "mounted"}')
    sync.send(child, "error", kind="not_found", message="exec: nosuch: not found")
    child.close()
    with pytest.raises(CommandNotFound, match="exec: nosuch: not found"):
        sync.send(parent, "ok")
    parent.close()
    parent, child = sync.pair()
    child.close()
    with pytest.raises(sync.SyncError, match="exited before 'ok' could be sent"):
        sync.send(parent, "ok")
    parent.close()
