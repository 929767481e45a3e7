"""create/start/state/kill/delete and run, the same for geedocker-runtime and runc."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.runtime.conformance.conftest import Oci
from tests.support.bundle import base_config

pytestmark = [pytest.mark.root, pytest.mark.peers]


def test_create_start_state_kill_delete(oci: Oci, tmp_path: Path) -> None:
    out = tmp_path / "out"
    bundle = oci.bundle(base_config(["sh", "-c", "echo hello; exec sleep 60"]))
    cid = oci.new_id()
    assert oci("create", "--bundle", str(bundle), cid, out=out).code == 0
    st = oci.state(cid)
    assert st["status"] == "created" and st["id"] == cid and st["pid"] > 0
    assert st["bundle"] == str(bundle) and st["ociVersion"]
    assert os.path.exists(f"/proc/{st['pid']}")
    assert out.read_text() == ""  # nothing runs before start
    assert oci("start", cid).code == 0
    st2 = oci.wait_status(cid, "running")
    assert st2["pid"] == st["pid"]
    r = oci("start", cid)
    assert r.code == 1 and r.err  # not twice
    r = oci("delete", cid)
    assert r.code == 1 and r.err  # running: not without --force
    assert oci("kill", cid, "KILL").code == 0
    st3 = oci.wait_status(cid, "stopped")
    assert st3["id"] == cid
    assert oci("delete", cid).code == 0
    r = oci("state", cid)
    assert r.code == 1 and "not exist" in r.err
    assert out.read_text() == "hello\n"


def test_kill_takes_signal_names_and_numbers(oci: Oci) -> None:
    cid = oci.create(base_config(["sh", "-c", "trap 'exit 0' USR1; while :; do sleep 0.05; done"]))
    assert oci("start", cid).code == 0
    oci.wait_status(cid, "running")
    assert oci("kill", cid, "SIGUSR1").code == 0
    oci.wait_status(cid, "stopped")
    r = oci("kill", cid, "KILL")
    assert r.code == 1 and r.err  # runc: "container not running"
    cid2 = oci.create(base_config(["sleep", "60"]))
    assert oci("kill", cid2, str(int(signal.SIGKILL))).code == 0  # a created container can be killed
    oci.wait_status(cid2, "stopped")


def test_delete_force_running_and_created(oci: Oci) -> None:
    running = oci.create(base_config(["sleep", "60"]))
    assert oci("start", running).code == 0
    pid = oci.wait_status(running, "running")["pid"]
    assert oci("delete", "--force", running).code == 0
    assert oci("state", running).code == 1
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{pid}") and "zombie" not in _proc_state(pid):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    created = oci.create(base_config(["sleep", "60"]))
    assert oci("delete", "--force", created).code == 0
    assert oci("state", created).code == 1
    assert oci("delete", "--force", "conf-never-made").code == 0  # runc: gone already is not an error with -f
    r = oci("delete", "conf-never-made")
    assert r.code == 1 and "not exist" in r.err


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (OSError, IndexError):
        return "zombie"


def test_delete_created_without_force(oci: Oci) -> None:
    cid = oci.create(base_config(["sleep", "60"]))
    pid = oci.state(cid)["pid"]
    assert oci("delete", cid).code == 0  # runc deletes a created container without --force
    assert oci("state", cid).code == 1
    time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in _proc_state(pid)


def test_pid_file(oci: Oci, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    cid = oci.create(base_config(["sleep", "60"]), "--pid-file", str(pidfile))
    assert pidfile.read_text() == str(oci.state(cid)["pid"])  # no newline, as runc writes it


def test_state_of_a_container_that_never_was(oci: Oci) -> None:
    r = oci("state", "conf-nope")
    assert r.code == 1 and "not exist" in r.err


def test_create_twice_is_refused(oci: Oci) -> None:
    cid = oci.create(base_config(["sleep", "60"]))
    r = oci("create", "--bundle", str(oci.bundle(base_config(["sleep", "60"]))), cid)
    assert r.code == 1 and "exists" in r.err


@pytest.mark.parametrize(("script", "code"), [
    ("true", 0), ("exit 3", 3), ("nosuchcmd", 127), ("/etc/passwd", 126), ("exit 255", 255),
    ("sh -c 'kill -TERM $$'; exit $?", 128 + signal.SIGTERM),  # a child killed by a signal, not pid 1
])
def test_run_exits_with_the_process_status(oci: Oci, script: str, code: int) -> None:
    r = oci.sh(script)
    assert r.code == code, r.err


def test_run_of_a_missing_executable_fails_at_create(oci: Oci) -> None:
    r = oci.run(base_config(["nosuchcmd"]))
    assert r.code == 1 and "executable file not found" in r.err
    assert oci("list", "-q").out == ""  # nothing left behind


def test_run_of_a_file_that_is_not_executable_fails(oci: Oci) -> None:
    r = oci.run(base_config(["/etc/passwd"]))
    assert r.code == 1 and "permission denied" in r.err.lower()


def test_run_init_killed_by_a_signal_exits_128_plus_it(oci: Oci, tmp_path: Path) -> None:
    bundle = oci.bundle(base_config(["sleep", "60"]))
    cid = oci.new_id()
    with open(tmp_path / "out", "w") as out:
        proc = subprocess.Popen([*oci.argv, "run", "--bundle", str(bundle), cid], stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while oci("state", cid).code != 0 or oci.state(cid)["status"] != "running":
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        assert oci("kill", cid, "KILL").code == 0
        assert proc.wait(20) == 128 + signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert oci("state", cid).code == 1  # run deletes what it made


def test_run_detached(oci: Oci) -> None:
    cid = oci.new_id()
    r = oci("run", "--detach", "--bundle", str(oci.bundle(base_config(["sleep", "60"]))), cid)
    assert r.code == 0, r.err
    assert oci.state(cid)["status"] == "running"
