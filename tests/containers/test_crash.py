"""Crashes (root): a record damaged under a running container, and ``run``/``rm`` killed with SIGKILL at moments
spread over their work. Each time ``ps -a`` shows what is left, ``rm -f`` and ``container prune`` remove it, and
nothing stays: no mount, container dir, cgroup, runtime state, process or name."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from geedocker.containers.record import is_alive
from geedocker.containers.store import ContainerStore
from geedocker.procs import start_time
from tests.containers.conftest import Engine, cgroups_named

pytestmark = pytest.mark.root


def our_processes(engine: Engine) -> list[int]:
    """Processes that run geedocker on this test's store (its CLI, monitors, inits before their exec)."""
    mark = f"GEEDOCKER_ROOT={engine.layout.root}\0".encode()
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            if mark in (p / "environ").read_bytes():
                found.append(int(p.name))
        except OSError:
            continue
    return found


def container_pids(cid: str) -> list[int]:
    pids = []
    for d in cgroups_named(cid):
        procs = Path(d) / "cgroup.procs"
        if procs.exists():
            pids += [int(x) for x in procs.read_text().split()]
    return sorted(set(pids))


def nothing_left(engine: Engine, seen: set[str]) -> list[str]:
    left = engine.leftovers(seen)
    left += [f"dir {n}" for n in os.listdir(engine.layout.containers) if n not in (".names", ".index")]
    names = engine.layout.containers / ".names"
    left += [f"name {n}" for n in (os.listdir(names) if names.exists() else [])]
    left += [f"process {p}" for p in our_processes(engine)]
    return left


def test_a_running_container_whose_record_is_truncated_is_shown_and_removed(engine: Engine) -> None:
    r = engine.run("sh", "-c", "sleep 100 & sleep 100", flags=("-d", "--name", "victim"))
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    engine.wait_for("both sleeps", lambda: len(container_pids(cid)) >= 2)
    procs = [(p, start_time(p)) for p in container_pids(cid)]
    record = ContainerStore(engine.layout).record_path(cid)
    record.write_bytes(record.read_bytes()[:200])  # what a power cut could leave of a record never fsynced
    ContainerStore(engine.layout).index.discard()  # as after the reboot that a power cut brings
    ps = engine.cli("ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}}")
    assert ps.stdout == f"{cid[:12]} victim Dead\n", ps.stderr
    refused = engine.cli("rm", "victim")  # its processes run: only -f takes it
    assert refused.returncode == 1 and "cannot remove a running container" in refused.stderr
    assert all(is_alive(p, s) for p, s in procs)
    rm = engine.cli("rm", "-f", "victim")
    assert (rm.returncode, rm.stdout) == (0, "victim\n"), rm.stderr
    assert [p for p, s in procs if is_alive(p, s)] == []
    engine.wait_for("the monitor to finish", lambda: our_processes(engine) == [])
    assert nothing_left(engine, {cid}) == []
    again = engine.run("true", flags=("--name", "victim", "--rm"))  # the name is free
    assert again.returncode == 0, again.stderr


def _kill_after(engine: Engine, delay: float, *args: str) -> None:
    proc = engine.popen(*args, start_new_session=True)
    time.sleep(delay)
    with __import__("contextlib").suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


@pytest.mark.parametrize("detach", [False, True])
def test_run_killed_at_any_moment_leaves_what_rm_f_and_prune_remove(engine: Engine, detach: bool) -> None:
    seen: set[str] = set()
    shown = 0
    delays = [i * 0.03 for i in range(16)]  # from before the store is touched to after the container runs
    for i, delay in enumerate(delays):
        name = f"k{i}"
        flags = ["-d"] if detach else []
        _kill_after(engine, delay, "run", *flags, "--name", name, "--rootfs", str(engine.layer), "sleep", "30")
        listed = engine.cli("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}").stdout.split()
        assert "Traceback" not in listed
        seen |= set(listed[::2])
        if name in listed:
            shown += 1
            rm = engine.cli("rm", "-f", name)
            assert rm.returncode == 0, rm.stderr
        assert name not in engine.cli("ps", "-a", "--format", "{{.Names}}").stdout.split()
    prune = engine.cli("container", "prune", "-f")
    assert prune.returncode == 0, prune.stderr
    assert shown > 0  # some kills came after the record was made
    engine.wait_for("monitors to finish", lambda: our_processes(engine) == [])
    assert nothing_left(engine, seen) == []
    for i in range(len(delays)):  # every name is free again
        assert engine.cli("create", "--name", f"k{i}", "--rootfs", str(engine.layer), "true").returncode == 0
    assert engine.cli("container", "prune", "-f").returncode == 0


def test_rm_killed_at_any_moment_is_finished_by_another_rm(engine: Engine) -> None:
    seen: set[str] = set()
    for i in range(10):
        r = engine.run("sleep", "30", flags=("-d", "--name", f"r{i}"))
        assert r.returncode == 0, r.stderr
        seen.add(r.stdout.strip())
        _kill_after(engine, i * 0.03, "rm", "-f", f"r{i}")
        listed = engine.cli("ps", "-a", "--format", "{{.Names}}")
        assert "Traceback" not in listed.stderr
        if f"r{i}" in listed.stdout.split():
            rm = engine.cli("rm", "-f", f"r{i}")
            assert rm.returncode == 0, rm.stderr
    assert engine.cli("container", "prune", "-f").returncode == 0
    engine.wait_for("monitors to finish", lambda: our_processes(engine) == [])
    assert nothing_left(engine, seen) == []


def test_rm_f_removes_the_cgroups_of_a_run_killed_before_the_runtime_had_state(engine: Engine) -> None:
    from geedocker.containers.backend import get_backend
    from geedocker.containers.plan import engine_cgroups_path

    cid = engine.cli("create", "--name", "half", "--rootfs", str(engine.layer), "true").stdout.strip()
    get_backend(engine.layout).prepare(cid, engine_cgroups_path(cid))  # what run does before it was killed
    assert cgroups_named(cid)
    assert engine.cli("rm", "-f", "half").returncode == 0
    assert nothing_left(engine, {cid}) == []


def test_system_check_finds_and_frees_the_cgroups_of_a_stopped_container(engine: Engine) -> None:
    from geedocker.containers.backend import get_backend
    from geedocker.containers.plan import engine_cgroups_path

    cid = engine.cli("create", "--name", "leaky", "--rootfs", str(engine.layer), "true").stdout.strip()
    get_backend(engine.layout).prepare(cid, engine_cgroups_path(cid))  # a run killed after making them
    found = engine.cli("system", "check")
    assert (found.returncode, found.stdout) == (1, f"container {cid[:12]} (leaky): its cgroups are left while it "
                                                   "does not run\n")  # fmt: skip
    assert engine.cli("system", "check", "--repair").returncode == 0
    assert cgroups_named(cid) == []
    assert engine.cli("system", "check").stdout == ""


def test_a_killed_monitor_keeps_the_exit_code_and_time(engine: Engine) -> None:
    """The engine's monitor killed by hand: the runtime's own small monitor (the init's parent) still records the
    exit, so the record gets the real code and the exit's time, not 255 and the time someone looked."""
    r = engine.run("sh", "-c", "sleep 1; exit 7", flags=("-d", "--name", "orphaned", "--network", "none"))
    assert r.returncode == 0, r.stderr
    rec = ContainerStore(engine.layout).resolve("orphaned")
    assert is_alive(rec.state.monitor_pid, rec.state.monitor_start)
    os.kill(rec.state.monitor_pid, signal.SIGKILL)
    time.sleep(3)  # the container exits about 1 s after its start, nobody looks until now
    looked = time.time()
    out = engine.cli("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.FinishedAt}}", "orphaned")
    status, code, finished = out.stdout.split()
    assert (status, code) == ("exited", "7"), out.stderr
    import datetime

    at = datetime.datetime.fromisoformat(finished.replace("Z", "+00:00")[:26] + "+00:00").timestamp()
    assert at < looked - 1, (finished, looked)
