"""The state machine: create -> created, start -> running, kill -> stopped, delete; wrong transitions."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from geedocker import runtime as rt
from geedocker.errors import ContainerNotFound, ContainerStateError, NameConflictError, UsageError
from geedocker.runtime import Status
from geedocker.runtime.state import pid_alive
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = pytest.mark.root


def test_full_lifecycle(runtime: Runtime) -> None:
    root = runtime.root
    cid = runtime.create(base_config(["sh", "-c", "echo started; exec sleep 60"]))
    st = rt.state(root, cid)
    assert st.status is Status.CREATED
    assert st.pid > 0 and pid_alive(st.pid, 0)
    assert st.to_json()["status"] == "created"
    assert runtime.output(cid)[0] == ""  # the user process has not run yet
    rt.start(root, cid)
    assert rt.state(root, cid).status is Status.RUNNING
    deadline = time.monotonic() + 10
    while runtime.output(cid)[0] != "started\n" and time.monotonic() < deadline:
        time.sleep(0.01)
    rt.kill(root, cid, "SIGKILL")
    assert rt.wait(root, cid, timeout=10) == 137
    st = rt.state(root, cid)
    assert st.status is Status.STOPPED
    assert st.exit_code == 137
    assert runtime.output(cid)[0] == "started\n"
    rt.delete(root, cid)
    with pytest.raises(ContainerNotFound):
        rt.state(root, cid)
    assert not (root / cid).exists()


def test_state_json_has_the_spec_fields(runtime: Runtime) -> None:
    cfg = base_config(["sleep", "60"])
    cfg["annotations"] = {"org.example.k": "v"}
    cid = runtime.create(cfg)
    j = rt.state(runtime.root, cid).to_json()
    assert set(j) == {"ociVersion", "id", "status", "pid", "bundle", "annotations"}
    assert j["id"] == cid and j["annotations"] == {"org.example.k": "v"}
    assert Path(j["bundle"], "config.json").exists()
    json.dumps(j)


def test_pid_file(runtime: Runtime, tmp_path: Path) -> None:
    pf = tmp_path / "pidfile"
    cid = runtime.create(base_config(["sleep", "60"]), pid_file=pf)
    assert int(pf.read_text()) == rt.state(runtime.root, cid).pid


def test_wrong_transitions(runtime: Runtime) -> None:
    root = runtime.root
    cid = runtime.create(base_config(["sleep", "60"]))
    with pytest.raises(ContainerStateError):
        rt.resume(root, cid)
    rt.start(root, cid)
    with pytest.raises(ContainerStateError):
        rt.start(root, cid)
    with pytest.raises(ContainerStateError):
        rt.delete(root, cid)
    rt.kill(root, cid, 9)
    rt.wait(root, cid, timeout=10)
    with pytest.raises(ContainerStateError):
        rt.kill(root, cid, 9)
    with pytest.raises(ContainerStateError):
        rt.start(root, cid)
    with pytest.raises(ContainerStateError):
        rt.exec_(root, cid, {"args": ["true"], "cwd": "/"})
    rt.delete(root, cid)


def test_delete_created_container_kills_its_init(runtime: Runtime) -> None:
    cid = runtime.create(base_config(["sleep", "60"]))
    pid = rt.state(runtime.root, cid).pid
    rt.delete(runtime.root, cid)
    assert not pid_alive(pid, 0)


def test_force_delete_running(runtime: Runtime) -> None:
    cid = runtime.create(base_config(["sleep", "60"]))
    rt.start(runtime.root, cid)
    pid = rt.state(runtime.root, cid).pid
    rt.delete(runtime.root, cid, force=True)
    assert not pid_alive(pid, 0)
    assert rt.list_(runtime.root) == []


def test_name_conflict_and_bad_id(runtime: Runtime) -> None:
    cid = runtime.create(base_config(["sleep", "60"]))
    with pytest.raises(NameConflictError):
        runtime.create(base_config(["sleep", "60"]), cid=cid)
    with pytest.raises(UsageError):
        runtime.create(base_config(["true"]), cid="../evil")


def test_list_and_ps(runtime: Runtime) -> None:
    a = runtime.create(base_config(["sleep", "60"]))
    b = runtime.create(base_config(["sh", "-c", "sleep 60 & sleep 60"]))
    rt.start(runtime.root, b)
    states = {s.id: s.status for s in rt.list_(runtime.root)}
    assert states == {a: Status.CREATED, b: Status.RUNNING}
    for _ in range(200):
        pids = rt.ps(runtime.root, b)
        if len(pids) == 2:
            break
        os.sched_yield()
    assert rt.state(runtime.root, b).pid in pids


def test_pause_and_resume(runtime: Runtime) -> None:
    cid = runtime.create(base_config(["sleep", "60"]))
    rt.start(runtime.root, cid)
    rt.pause(runtime.root, cid)
    assert rt.state(runtime.root, cid).status is Status.PAUSED
    rt.resume(runtime.root, cid)
    assert rt.state(runtime.root, cid).status is Status.RUNNING


def test_kill_all(runtime: Runtime) -> None:
    cid = runtime.create(base_config(["sh", "-c", "trap 'exit 7' TERM; sleep 60 & wait"]))
    rt.start(runtime.root, cid)
    deadline = time.monotonic() + 5
    while len(rt.ps(runtime.root, cid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    rt.kill(runtime.root, cid, "TERM", all=True)
    assert rt.wait(runtime.root, cid, timeout=10) == 7


def test_sigterm_with_handler_in_pid_1(runtime: Runtime) -> None:
    cid = runtime.create(base_config(["sh", "-c", "trap 'exit 42' TERM; echo ready; while true; do sleep 0.05; done"]))
    rt.start(runtime.root, cid)
    deadline = time.monotonic() + 30
    while runtime.output(cid)[0] != "ready\n":  # the trap is set once "ready" is out
        assert time.monotonic() < deadline
        time.sleep(0.01)
    rt.kill(runtime.root, cid, "TERM")
    assert rt.wait(runtime.root, cid, timeout=30) == 42


def test_run_deletes_afterwards(runtime: Runtime) -> None:
    assert runtime.run(base_config(["true"])).code == 0
    assert rt.list_(runtime.root) == []


def test_leftover_dir_without_state_needs_force(runtime: Runtime) -> None:
    (runtime.root / "half").mkdir(parents=True)
    with pytest.raises(ContainerStateError, match="no saved state"):
        rt.delete(runtime.root, "half")
    rt.delete(runtime.root, "half", force=True)
    assert not (runtime.root / "half").exists()


@pytest.mark.root
def test_the_monitor_is_our_child_until_delete_reaps_it(runtime: Runtime) -> None:
    import subprocess
    import sys
    import textwrap

    bundle = runtime.bundle(base_config(["true"]))
    src = str(Path(rt.__file__).resolve().parents[2])
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {src!r})
        from geedocker import runtime as rt
        null = os.open(os.devnull, os.O_RDWR)
        rt.create({str(runtime.root)!r}, "m1", {str(bundle)!r}, stdin=null, stdout=null, stderr=null)
        import json
        mpid = json.loads(open(os.path.join({str(runtime.root)!r}, "m1", "state.json")).read())["monitorPid"]
        print("parent", int(open(f"/proc/{{mpid}}/stat").read().rsplit(")", 1)[1].split()[1]) == os.getpid())
        rt.start({str(runtime.root)!r}, "m1")
        print("code", rt.wait({str(runtime.root)!r}, "m1"))
        rt.delete({str(runtime.root)!r}, "m1")
        try:
            os.waitpid(-1, os.WNOHANG)
            print("children left")
        except ChildProcessError:
            print("no children")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["parent True", "code 0", "no children"]
