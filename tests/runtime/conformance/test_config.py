"""What config.json asks for, seen from inside the container: namespaces, hostname, mounts, readonly rootfs,
masked and readonly paths, annotations, hooks. The same assertions for both runtimes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.runtime.conformance.conftest import Oci, differs
from tests.support.bundle import base_config

pytestmark = [pytest.mark.root, pytest.mark.peers]


def test_hostname_and_pid_1(oci: Oci) -> None:
    cfg = base_config(["sh", "-c", "hostname; echo $$; cat /proc/sys/kernel/hostname"])
    cfg["hostname"] = "conformance-host"
    r = oci.run(cfg)
    assert r.code == 0, r.err
    assert r.out.split() == ["conformance-host", "1", "conformance-host"]


def test_namespaces_are_new_except_those_left_out(oci: Oci) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["linux"]["namespaces"] = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]  # no network: the host's
    cid = oci.create(cfg)
    pid = oci.state(cid)["pid"]
    for ns in ("pid", "ipc", "uts", "mnt"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    assert os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/self/ns/net")


def test_joining_a_namespace_by_path(oci: Oci) -> None:
    first = oci.create(base_config(["sleep", "60"]))
    pid = oci.state(first)["pid"]
    cfg = base_config(["sleep", "60"])
    cfg["linux"]["namespaces"] = [{"type": "network", "path": f"/proc/{pid}/ns/net"} if n["type"] == "network"
                                  else n for n in cfg["linux"]["namespaces"]]
    second = oci.create(cfg)
    pid2 = oci.state(second)["pid"]
    assert os.readlink(f"/proc/{pid2}/ns/net") == os.readlink(f"/proc/{pid}/ns/net")
    assert os.readlink(f"/proc/{pid2}/ns/uts") != os.readlink(f"/proc/{pid}/ns/uts")


def _mounts(out: str) -> dict[str, tuple[str, list[str]]]:
    """/proc/self/mounts lines by mount point: (type, options); the last mount on a point wins."""
    return {f[1]: (f[2], f[3].split(",")) for line in out.splitlines() if len(f := line.split()) >= 4}


def test_bind_mounts_ro_and_rw_tmpfs_and_proc(oci: Oci, tmp_path: Path) -> None:
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    ro.mkdir()
    rw.mkdir()
    (ro / "file").write_text("from the host\n")
    cfg = base_config(["sh", "-c", "cat /ro/file; touch /ro/x 2>/dev/null && echo ro-writable; "
                                   "echo written > /rw/new; touch /scratch/t && echo tmpfs-ok; "
                                   "cat /proc/self/mounts"])
    cfg["mounts"] += [
        {"destination": "/ro", "type": "bind", "source": str(ro), "options": ["rbind", "ro"]},
        {"destination": "/rw", "type": "bind", "source": str(rw), "options": ["rbind", "rw"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m", "mode=1777"]},
    ]
    r = oci.run(cfg)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[:2] == ["from the host", "tmpfs-ok"]
    assert (rw / "new").read_text() == "written\n"
    m = _mounts("\n".join(lines[2:]))
    assert "ro" in m["/ro"][1] and "rw" in m["/rw"][1]
    assert m["/scratch"][0] == "tmpfs" and "nosuid" in m["/scratch"][1] and "size=1024k" in m["/scratch"][1]
    assert m["/proc"][0] == "proc" and {"nosuid", "nodev", "noexec"} <= set(m["/proc"][1])
    assert m["/sys"][0] == "sysfs" and "ro" in m["/sys"][1]
    assert m["/dev/pts"][0] == "devpts" and m["/dev/shm"][0] == "tmpfs" and m["/dev/mqueue"][0] == "mqueue"


def test_bind_mount_of_a_file_and_a_missing_target(oci: Oci, tmp_path: Path) -> None:
    src = tmp_path / "f.txt"
    src.write_text("one file\n")
    cfg = base_config(["cat", "/deep/new/dir/f.txt"])
    cfg["mounts"].append({"destination": "/deep/new/dir/f.txt", "type": "bind", "source": str(src),
                          "options": ["bind", "ro"]})
    r = oci.run(cfg)
    assert r.code == 0 and r.out == "one file\n", r.err


def test_default_devices(oci: Oci) -> None:
    r = oci.sh("for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo $d; done; "
               "ls -l /dev/ptmx /dev/fd /dev/stdin | cut -c1; echo x > /dev/null && echo null-writable")
    assert r.code == 0, r.err
    assert r.out.split() == ["null", "zero", "full", "random", "urandom", "tty", "l", "l", "l", "null-writable"]


def test_readonly_rootfs(oci: Oci) -> None:
    cfg = base_config(["sh", "-c", "touch /new 2>/dev/null && echo root-writable; touch /dev/shm/x && echo shm-ok; "
                                   "grep ' / ' /proc/self/mounts | cut -d' ' -f4 | cut -d, -f1"])
    cfg["root"]["readonly"] = True
    r = oci.run(cfg)
    assert r.code == 0, r.err
    assert r.out.split() == ["shm-ok", "ro"]


def test_masked_and_readonly_paths(oci: Oci) -> None:
    # /proc/timer_list and /sys/firmware exist on every kernel this runs on (/proc/kcore not always)
    cfg = base_config(["sh", "-c", "echo timer_list=$(wc -c < /proc/timer_list) "
                                   "firmware=$(ls -A /sys/firmware | wc -l); "
                                   "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-writable; "
                                   "cat /proc/self/mounts"])
    r = oci.run(cfg)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "timer_list=0 firmware=0" and "sys-writable" not in lines
    assert m_type(lines[1:], "/proc/timer_list") not in ("", "proc")  # the host's /dev/null bound over it
    m = _mounts("\n".join(lines[1:]))
    for p in ("/proc/sys", "/proc/bus", "/proc/irq", "/proc/fs", "/proc/sysrq-trigger"):
        if os.path.exists(p):  # a kernel may lack one (no /proc/sysrq-trigger without CONFIG_MAGIC_SYSRQ)
            assert "ro" in m[p][1], p
    assert m["/sys/firmware"][0] == "tmpfs" and "ro" in m["/sys/firmware"][1]


def m_type(lines: list[str], point: str) -> str:
    return _mounts("\n".join(lines)).get(point, ("", []))[0]


def test_masked_path_that_does_not_exist_is_skipped(oci: Oci) -> None:
    cfg = base_config(["true"])
    cfg["linux"]["maskedPaths"] = ["/proc/no-such-thing", "/proc/kcore"]
    cfg["linux"]["readonlyPaths"] = ["/proc/no-such-dir", "/proc/sys"]
    assert oci.run(cfg).code == 0


def test_annotations_in_state(oci: Oci) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["annotations"] = {"org.example.key": "value", "io.conformance/two": "2"}
    cid = oci.create(cfg)
    st = oci.state(cid)
    assert st.get("annotations") == cfg["annotations"]
    plain = oci.create(base_config(["sleep", "60"]))
    assert not oci.state(plain).get("annotations")


def test_state_rootfs_and_owner(oci: Oci) -> None:
    bundle = oci.bundle(base_config(["sleep", "60"]))
    cid = oci.new_id()
    assert oci("create", "--bundle", str(bundle), cid).code == 0
    st = oci.state(cid)
    assert st["rootfs"] == str(bundle / "rootfs") and st["owner"] == ""


def _hook(tmp_path: Path, name: str, script: str = "") -> dict[str, object]:
    """A hook that saves the state it gets on stdin as ``<name>.json`` (then runs ``script``)."""
    return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {tmp_path}/{name}.json; {script or 'true'}"],
            "env": ["X=1"]}


def _seen(tmp_path: Path, names: tuple[str, ...]) -> dict[str, dict[str, object]]:
    return {n: json.loads((tmp_path / f"{n}.json").read_text()) for n in names if (tmp_path / f"{n}.json").exists()}


HOOKS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def test_hooks_run_in_order_with_the_state(oci: Oci, tmp_path: Path) -> None:
    """prestart, createRuntime, createContainer by create; startContainer and poststart by start; poststop by
    delete. Each gets the container's state on stdin."""
    cfg = base_config(["sleep", "60"])
    cfg["hooks"] = {n: [_hook(tmp_path, n)] for n in ("prestart", "createRuntime", "poststop")}
    # createContainer runs in the container's namespaces before pivot_root (the host's paths are still there);
    # startContainer in the container after it: its file goes through a bind-mounted dir.
    (tmp_path / "in").mkdir()
    cfg["mounts"].append({"destination": "/hooks", "type": "bind", "source": str(tmp_path / "in"),
                          "options": ["rbind", "rw"]})
    cfg["hooks"]["createContainer"] = [_hook(tmp_path / "in", "createContainer")]
    cfg["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /hooks/startContainer.json"]}]
    cid = oci.create(cfg)
    bundle = oci.state(cid)["bundle"]
    assert set(_seen(tmp_path, HOOKS)) == {"prestart", "createRuntime"}
    assert set(_seen(tmp_path / "in", HOOKS)) == {"createContainer"}
    assert oci("start", cid).code == 0
    oci.wait_status(cid, "running")
    assert set(_seen(tmp_path / "in", HOOKS)) == {"createContainer", "startContainer"}
    assert oci("kill", cid, "KILL").code == 0
    oci.wait_status(cid, "stopped")
    assert "poststop" not in _seen(tmp_path, HOOKS)
    assert oci("delete", cid).code == 0
    seen = _seen(tmp_path, HOOKS)
    assert set(seen) == {"prestart", "createRuntime", "poststop"}
    for n, st in {**seen, **_seen(tmp_path / "in", HOOKS)}.items():
        assert st["id"] == cid and st["bundle"] == bundle, n
    assert seen["prestart"]["pid"] == seen["createRuntime"]["pid"] and isinstance(seen["prestart"]["pid"], int)
    assert seen["poststop"]["status"] == "stopped"


def test_hooks_before_start_see_status_creating(oci: Oci, tmp_path: Path) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["hooks"] = {n: [_hook(tmp_path, n)] for n in ("prestart", "createRuntime")}
    oci.create(cfg)
    seen = _seen(tmp_path, HOOKS)
    assert {n: st["status"] for n, st in seen.items()} == {"prestart": "creating", "createRuntime": "creating"}


def test_poststart_runs_after_start(request: pytest.FixtureRequest, oci: Oci, tmp_path: Path) -> None:
    differs(request, oci, "runc 1.1 runs poststart hooks in create, before start (runtime-spec: after the "
                          "user-specified process is executed; runc#4347, moved to start in runc#5186)", "runc")
    cfg = base_config(["sleep", "60"])
    cfg["hooks"] = {"poststart": [_hook(tmp_path, "poststart")]}
    cid = oci.create(cfg)
    assert "poststart" not in _seen(tmp_path, HOOKS)
    assert oci("start", cid).code == 0
    assert _seen(tmp_path, HOOKS)["poststart"]["status"] == "running"


def test_failing_prestart_hook_fails_create(oci: Oci, tmp_path: Path) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 7"]}]}
    cid = oci.new_id()
    r = oci("create", "--bundle", str(oci.bundle(cfg)), cid)
    assert r.code == 1 and "7" in r.err
    assert oci("state", cid).code == 1  # nothing left


def test_failing_poststart_hook_is_a_warning(request: pytest.FixtureRequest, oci: Oci) -> None:
    """runtime-spec: "If any poststart hook fails, the runtime MUST log a warning, but the remaining hooks and
    lifecycle continue as if the hook had succeeded"."""
    differs(request, oci, "runc 1.1 runs poststart hooks in create, and a failing one fails create "
                          "(runc#1710, runc#1765)", "runc")
    cfg = base_config(["sleep", "60"])
    cfg["hooks"] = {"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 7"]}]}
    cid = oci.new_id()
    assert oci("create", "--bundle", str(oci.bundle(cfg)), cid).code == 0
    r = oci("start", cid)
    assert r.code == 0 and "7" in r.err
    assert oci.state(cid)["status"] == "running"


def test_failing_poststop_hook_does_not_stop_delete(oci: Oci) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["hooks"] = {"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 7"]}]}
    cid = oci.create(cfg)
    assert oci("delete", "--force", cid).code == 0
    assert oci("state", cid).code == 1


def test_sysctl(oci: Oci) -> None:
    cfg = base_config(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax"])
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789"}
    r = oci.run(cfg)
    assert r.code == 0 and r.out.split() == ["1", "123456789"], r.err
