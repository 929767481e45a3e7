"""``run -d`` under a monitor: logs, ps, stop, kill, wait, rm, start again; state survives the CLI."""

from __future__ import annotations

import json
import time

import pytest

from geedocker.containers.record import is_alive
from geedocker.containers.store import ContainerStore
from tests.containers.conftest import Engine

pytestmark = pytest.mark.root

TICKER = "echo started; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"


def detach(engine: Engine, *args: str, flags: tuple[str, ...] = ()) -> str:
    r = engine.run(*args, flags=("-d", *flags))
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert len(cid) == 64
    return cid


def test_detached_logs_stop_rm(engine: Engine) -> None:
    cid = detach(engine, "sh", "-c", TICKER, flags=("--name", "web"))
    engine.wait_for("two ticks", lambda: "tick 1" in engine.cli("logs", "web").stdout)
    ps = engine.cli("ps").stdout.splitlines()
    assert len(ps) == 2 and ps[1].startswith(cid[:12]) and ps[1].endswith("web") and "Up " in ps[1]
    logs = engine.cli("logs", "web").stdout.splitlines()
    assert logs[0] == "started" and logs[1] == "tick 0"
    tail = engine.cli("logs", "--tail", "1", cid[:8]).stdout.splitlines()
    assert len(tail) == 1 and tail[0].startswith("tick ")
    stamped = engine.cli("logs", "-t", "web").stdout.splitlines()[0]
    assert stamped.endswith(" started") and stamped[:4].isdigit() and "T" in stamped.split()[0]
    raw = (engine.layout.container_dir(cid) / f"{cid}-json.log").read_text().splitlines()[0]
    assert json.loads(raw)["log"] == "started\n" and json.loads(raw)["stream"] == "stdout"
    assert engine.cli("stop", "-t", "1", "web").stdout == "web\n"  # sh as pid 1 ignores TERM: killed at 1 s
    inspect = engine.cli("container", "inspect", "web")
    state = json.loads(inspect.stdout)[0]["State"]
    assert state["Status"] == "exited" and state["Running"] is False and state["Pid"] == 0
    assert engine.cli("ps", "-q").stdout == ""
    assert engine.cli("ps", "-a", "-q").stdout.strip() == cid[:12]
    assert engine.cli("rm", "web").returncode == 0
    assert engine.ids() == [] and engine.leftovers() == []


def test_stop_escalates_to_sigkill_after_the_timeout(engine: Engine) -> None:
    detach(engine, "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done", flags=("--name", "stubborn"))
    t0 = time.monotonic()
    assert engine.cli("stop", "-t", "1", "stubborn").returncode == 0
    took = time.monotonic() - t0
    assert 0.9 < took < 8
    assert engine.cli("wait", "stubborn").stdout == "137\n"


def test_stop_signal_handled_quickly(engine: Engine) -> None:
    detach(engine, "sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done", flags=("--name", "polite"))
    time.sleep(0.3)
    t0 = time.monotonic()
    engine.cli("stop", "polite")
    assert time.monotonic() - t0 < 5
    assert engine.cli("wait", "polite").stdout == "7\n"


def test_kill_with_signal_and_wait(engine: Engine) -> None:
    detach(engine, "sh", "-c", "trap 'exit 10' USR1; while true; do sleep 0.1; done", flags=("--name", "kk"))
    time.sleep(0.3)
    waiter = engine.popen("wait", "kk")
    assert engine.cli("kill", "-s", "USR1", "kk").returncode == 0
    out, _ = waiter.communicate(timeout=20)
    assert out == "10\n" and waiter.returncode == 0
    r = engine.cli("kill", "kk")
    assert r.returncode != 0 and "is not running" in r.stderr


def test_rm_running_needs_force(engine: Engine) -> None:
    cid = detach(engine, "sleep", "60", flags=("--name", "busy"))
    r = engine.cli("rm", "busy")
    assert r.returncode != 0 and "cannot remove a running container" in r.stderr
    assert engine.cli("rm", "-f", "busy").returncode == 0
    assert engine.leftovers({cid}) == []


def test_detached_rm_removes_itself(engine: Engine) -> None:
    cid = detach(engine, "sh", "-c", "sleep 0.3", flags=("--rm",))
    engine.wait_for("the container to remove itself", lambda: engine.ids() == [])
    assert engine.leftovers({cid}) == []


def test_logs_follow_ends_when_the_container_does(engine: Engine) -> None:
    detach(engine, "sh", "-c", "for i in 1 2 3; do echo n$i; sleep 0.3; done", flags=("--name", "ff"))
    r = engine.cli("logs", "-f", "ff", timeout=30)
    assert r.stdout == "n1\nn2\nn3\n"


def test_state_survives_a_killed_monitor(engine: Engine) -> None:
    """ps tells the truth when the monitor and the container died behind our back."""
    cid = detach(engine, "sleep", "60", flags=("--name", "orphan"))
    rec = ContainerStore(engine.layout).load(cid)
    assert is_alive(rec.state.monitor_pid, rec.state.monitor_start)
    import os
    import signal

    os.kill(rec.state.monitor_pid, signal.SIGKILL)
    os.kill(rec.state.pid, signal.SIGKILL)
    engine.wait_for("the init to die", lambda: not is_alive(rec.state.pid, rec.state.pid_start))
    out = engine.cli("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout
    assert out == "orphan exited\n"
    assert engine.cli("rm", "orphan").returncode == 0
    assert engine.leftovers({cid}) == []


def test_start_again_keeps_the_filesystem(engine: Engine) -> None:
    r = engine.run("sh", "-c", "echo run >> /count; wc -l < /count", flags=("--name", "again"))
    assert r.stdout.strip() == "1", r.stderr
    assert engine.cli("start", "-a", "again").stdout.strip() == "2"
    assert engine.cli("start", "again").returncode == 0
    assert engine.cli("wait", "again").stdout == "0\n"
    assert engine.cli("logs", "again").stdout.split() == ["1", "2", "3"]


def test_create_then_start(engine: Engine) -> None:
    r = engine.cli("create", "--name", "c1", "--rootfs", str(engine.layer), "echo", "created")
    assert r.returncode == 0 and len(r.stdout.strip()) == 64
    assert engine.cli("ps", "-a", "--format", "{{.Status}}").stdout == "Created\n"
    assert engine.leftovers() == [f"container dir {r.stdout.strip()}"]  # create leaves nothing mounted
    assert engine.cli("start", "-a", "c1").stdout == "created\n"


def test_ps_all_quiet_and_json(engine: Engine) -> None:
    a = detach(engine, "sleep", "60", flags=("--name", "one"))
    engine.run("true", flags=("--name", "two"))
    assert engine.cli("ps", "-q").stdout.split() == [a[:12]]
    assert len(engine.cli("ps", "-a", "-q").stdout.split()) == 2
    rows = [json.loads(line) for line in engine.cli("ps", "-a", "--format", "json").stdout.splitlines()]
    assert {r["Names"]: r["State"] for r in rows} == {"one": "running", "two": "exited"}
    assert engine.cli("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}").stdout == "two\n"
    pruned = engine.cli("container", "prune", "-f").stdout
    assert "Deleted Containers:" in pruned
    assert engine.cli("ps", "-a", "--format", "{{.Names}}").stdout == "one\n"


def test_killed_attached_cli_leaves_a_truthful_state(engine: Engine) -> None:
    """SIGKILL the attached ``geedocker run``: the container runs on; its exit code is still found."""
    import signal

    p = engine.popen("run", "--name", "headless", "--rootfs", str(engine.layer), "sh", "-c", "sleep 1; exit 6")
    engine.wait_for("it to run", lambda: engine.cli("ps", "-q").stdout.strip() != "")
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert engine.cli("wait", "headless").stdout == "6\n"
    assert engine.cli("rm", "headless").returncode == 0
    assert engine.leftovers() == []


def test_restart_and_container_subcommands(engine: Engine) -> None:
    script = "echo boot; sleep 60"
    r = engine.cli("container", "run", "-d", "--name", "rs", "--rootfs", str(engine.layer), "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    assert engine.cli("container", "ls", "--format", "{{.Names}}").stdout == "rs\n"
    engine.wait_for("the first boot", lambda: engine.cli("logs", "rs").stdout == "boot\n")
    assert engine.cli("restart", "-t", "0", "rs").stdout == "rs\n"
    engine.wait_for("the second boot", lambda: engine.cli("container", "logs", "rs").stdout == "boot\nboot\n")
    assert engine.cli("container", "ls", "--format", "{{.State}}").stdout == "running\n"
    assert engine.cli("container", "rm", "-f", "rs").returncode == 0
    assert engine.cli("container", "ls", "-a", "-q").stdout == ""


def test_wait_for_an_auto_removed_container(engine: Engine) -> None:
    cid = detach(engine, "sh", "-c", "sleep 0.5; exit 12", flags=("--rm", "--name", "gone"))
    assert engine.cli("wait", cid[:12]).stdout == "12\n"
    assert engine.ids() == []


def test_detached_command_not_found(engine: Engine) -> None:
    r = engine.run("nosuchcommand", flags=("-d", "--name", "broken"))
    assert r.returncode == 127 and "nosuchcommand" in r.stderr and r.stdout == ""
    assert engine.cli("wait", "broken").stdout == "127\n"
    assert engine.leftovers() == [f"container dir {engine.ids()[0]}"]  # nothing mounted or running
