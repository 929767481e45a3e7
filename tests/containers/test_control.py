"""pause/unpause (the freezer), top, update on the live cgroup, rename, exec/stop on a paused container."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from geedocker.containers.control import cgroup_of
from geedocker.containers.store import ContainerStore
from tests.containers.conftest import Engine

pytestmark = pytest.mark.root

LOOP = "while true; do sleep 0.1; done"


def state(engine: Engine, name: str) -> dict[str, object]:
    return json.loads(engine.cli("container", "inspect", name).stdout)[0]["State"]  # type: ignore[no-any-return]


def test_pause_top_update_rename_stop(engine: Engine) -> None:
    r = engine.run("sh", "-c", LOOP, flags=("-d", "--network", "none", "--name", "frozen"))
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert engine.cli("pause", "frozen").stdout == "frozen\n"
    rec = ContainerStore(engine.layout).load(cid)
    assert cgroup_of(rec).frozen()
    st = state(engine, "frozen")
    assert (st["Status"], st["Running"], st["Paused"]) == ("paused", True, True)
    assert engine.cli("ps", "--format", "{{.State}} {{.Status}}").stdout.startswith("paused Up ")
    assert "(Paused)" in engine.cli("ps").stdout
    r = engine.cli("pause", "frozen")
    assert r.returncode == 1 and "is already paused" in r.stderr
    r = engine.cli("exec", "frozen", "true")
    assert r.returncode == 1 and "is paused, unpause the container before exec" in r.stderr
    top = engine.cli("top", "frozen").stdout.splitlines()
    assert top[0].split()[:3] == ["UID", "PID", "PPID"] and any(str(rec.state.pid) == ln.split()[1] for ln in top[1:])
    top = engine.cli("top", "frozen", "-o", "pid,comm").stdout.splitlines()
    assert top[0].split() == ["PID", "COMMAND"] and [str(rec.state.pid), "sh"] in [ln.split() for ln in top[1:]]
    r = engine.cli("events", "--since", "1m", "--until", "0s", "--filter", "event=top", "--format", "{{.Action}}")
    assert r.stdout == "top\ntop\n"  # one a top, as dockerd's
    assert engine.cli("unpause", "frozen").returncode == 0
    assert not cgroup_of(rec).frozen() and state(engine, "frozen")["Status"] == "running"
    r = engine.cli("unpause", "frozen")
    assert r.returncode == 1 and "is not paused" in r.stderr
    assert engine.cli("exec", "frozen", "true").returncode == 0
    # update: the live cgroup and the record
    assert engine.cli("update", "-m", "64m", "--pids-limit", "40", "--cpus", "0.5", "frozen").returncode == 0
    cg = cgroup_of(rec)
    if cg.version == 1:
        dirs = cg.dirs  # type: ignore[attr-defined]
        assert Path(dirs["memory"], "memory.limit_in_bytes").read_text().strip() == str(64 << 20)
        assert Path(dirs["pids"], "pids.max").read_text().strip() == "40"
        assert Path(dirs["cpu"], "cpu.cfs_quota_us").read_text().strip() == "50000"
    host = json.loads(engine.cli("container", "inspect", "frozen").stdout)[0]["HostConfig"]
    assert host["Memory"] == 64 << 20
    # rename
    assert engine.cli("rename", "frozen", "thawed").returncode == 0
    assert engine.cli("ps", "--format", "{{.Names}}").stdout == "thawed\n"
    engine.run("true", flags=("--network", "none", "--name", "other"))
    r = engine.cli("rename", "thawed", "other")
    assert r.returncode != 0 and "already in use" in r.stderr
    # stop of a paused container: signalled, thawed, stopped
    assert engine.cli("pause", "thawed").returncode == 0
    t0 = time.monotonic()
    assert engine.cli("stop", "-t", "1", "thawed").returncode == 0
    assert time.monotonic() - t0 < 8
    st = state(engine, "thawed")
    assert st["Status"] == "exited" and st["Paused"] is False


def test_stats_no_stream(engine: Engine) -> None:
    r = engine.run(
        "sh", "-c", "while true; do :; done", flags=("-d", "--network", "none", "--name", "busy", "-m", "64m")
    )
    assert r.returncode == 0, r.stderr
    out = engine.cli("stats", "--no-stream").stdout.splitlines()
    assert out[0].split()[:4] == ["CONTAINER", "ID", "NAME", "CPU"] and "MEM USAGE / LIMIT" in out[0]
    fields = engine.cli("stats", "--no-stream", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", "busy")
    name, cpu, mem, pids = fields.stdout.strip().split("|")
    assert name == "busy" and float(cpu.rstrip("%")) > 20 and mem.endswith(" / 64MiB") and pids == "1"
    assert engine.cli("pause", "busy").returncode == 0
    cpu = engine.cli("stats", "--no-stream", "--format", "{{.CPUPerc}}", "busy").stdout.strip()
    assert float(cpu.rstrip("%")) < 5  # frozen: no CPU time


def test_wait_conditions(engine: Engine) -> None:
    assert engine.run("sh", "-c", "exit 3", flags=("--network", "none", "--name", "done")).returncode == 3
    assert engine.cli("wait", "done").stdout == "3\n"  # not-running: at once
    waiter = engine.popen("wait", "--condition", "next-exit", "done")
    time.sleep(0.5)
    assert waiter.poll() is None  # it waits for the next run's exit
    assert engine.cli("start", "done").returncode == 0
    assert waiter.communicate(timeout=30)[0] == "3\n"
    remover = engine.popen("wait", "--condition", "removed", "done")
    time.sleep(0.5)
    assert remover.poll() is None
    assert engine.cli("rm", "done").returncode == 0
    assert remover.communicate(timeout=30)[0] == "3\n"
    r = engine.cli("wait", "--condition", "sometime", "x")
    assert r.returncode != 0 and "invalid condition" in r.stderr


def test_events_of_a_container_life(engine: Engine) -> None:
    # --since a moment before: the follower replays what came before it was ready, so it needs no head start
    follower = engine.popen("events", "--since", f"{time.time() - 1:.9f}", "--filter", "container=evt",
                            "--format", "{{.Action}}")  # fmt: skip
    watchdog = threading.Timer(30, follower.kill)  # a follower never ends by itself: a missing event ends it
    watchdog.start()
    try:
        r = engine.run("sh", "-c", "exit 2", flags=("--network", "none", "--name", "evt", "-l", "k=v"))
        assert r.returncode == 2, r.stderr
        assert engine.cli("rename", "evt", "evt2").returncode == 0
        assert engine.cli("rm", "evt2").returncode == 0
        assert follower.stdout is not None
        out = [follower.stdout.readline().strip() for _ in range(4)]
    finally:
        watchdog.cancel()
        follower.kill()
        follower.communicate(timeout=10)
    assert out == ["create", "attach", "start", "die"], out  # the rename takes the name: later ones are evt2's
    lines = engine.cli("events", "--since", "1m", "--until", "0s", "--filter", "type=container").stdout.splitlines()
    actions = [ln.split()[2] for ln in lines]
    assert actions == ["create", "attach", "start", "die", "rename", "destroy"]  # the foreground run attaches
    assert "exitCode=2" in lines[3] and "k=v" in lines[3] and "name=evt" in lines[3] and "oldName=/evt" in lines[4]
    js = engine.cli("events", "--since", "1m", "--until", "0s", "--format", "json", "--filter", "event=die")
    ev = json.loads(js.stdout)
    assert ev["Type"] == "container" and ev["Actor"]["Attributes"]["exitCode"] == "2" and ev["status"] == "die"


def test_attach_streams_output_proxies_signals_and_returns_the_exit_code(engine: Engine) -> None:
    script = 'trap "echo got-term; exit 7" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done'
    assert engine.run("sh", "-c", script, flags=("-d", "--network", "none", "--name", "att")).returncode == 0
    p = engine.popen("attach", "att")
    time.sleep(1.0)
    p.send_signal(15)  # --sig-proxy: the container gets it
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 7 and out.rstrip().endswith("got-term") and "tick " in out
    r = engine.cli("attach", "att")
    assert r.returncode == 1 and "You cannot attach to a stopped container" in r.stderr
