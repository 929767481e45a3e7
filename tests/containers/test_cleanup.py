"""Nothing outlives a container: mounts, cgroups, runtime state, dirs, processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from geedocker.containers.record import is_alive
from geedocker.containers.store import ContainerStore
from geedocker.procs import start_time as process_start_time
from tests.containers.conftest import Engine, cgroups_named, mounts_under

pytestmark = pytest.mark.root


def container_processes(engine: Engine, cid: str) -> list[tuple[int, int]]:
    """(pid, start time) of the container's processes (its cgroup) and of its monitor."""
    out = []
    for d in cgroups_named(cid):
        procs = Path(d) / "cgroup.procs"
        if procs.exists():
            out += [int(p) for p in procs.read_text().split()]
    rec = ContainerStore(engine.layout).load(cid)
    out.append(rec.state.monitor_pid)
    return [(p, process_start_time(p)) for p in set(out) if p > 0]


def test_hundred_run_rm_cycles_leave_nothing(engine: Engine) -> None:
    seen: set[str] = set()
    procs: list[tuple[int, int]] = []
    for i in range(100):
        flags = ("-d", "--name", f"cycle{i}") if i % 2 else ("--name", f"cycle{i}")
        r = engine.run("sh", "-c", "echo hi; sleep 5", flags=flags) if i % 2 else engine.run("echo", "hi", flags=flags)
        assert r.returncode == 0, r.stderr
        seen |= set(engine.ids())
        if i % 2:
            procs += container_processes(engine, r.stdout.strip())
        rm = engine.cli("rm", "-f", f"cycle{i}")
        assert rm.returncode == 0, rm.stderr
    assert len(seen) == 100
    assert len(procs) >= 100  # each detached one had its process and a monitor
    assert engine.leftovers(seen) == []
    assert [p for p, start in procs if is_alive(p, start)] == []
    assert not any(p.name.startswith("console-") for p in engine.layout.run.iterdir())


def test_rm_f_of_a_running_container_leaves_nothing(engine: Engine) -> None:
    r = engine.run("sh", "-c", "sleep 100 & sleep 100", flags=("-d",))
    cid = r.stdout.strip()
    engine.wait_for("both sleeps", lambda: len(container_processes(engine, cid)) >= 3)
    procs = container_processes(engine, cid)
    # while it runs, the checks below do see it
    assert cgroups_named(cid) and mounts_under(engine.layout.root)
    assert all(is_alive(p, start) for p, start in procs)
    assert engine.cli("rm", "-f", cid).returncode == 0
    assert engine.leftovers({cid}) == []
    assert [p for p, start in procs if is_alive(p, start)] == []


def _engine_cgroups() -> set[str]:
    """Every container cgroup of the engine's on this machine (``/sys/fs/cgroup/*/geedocker/<id>``)."""
    return {str(p) for p in Path("/sys/fs/cgroup").glob("*/geedocker/*") if p.is_dir() and len(p.name) == 64}


@pytest.mark.parametrize(("flags", "args", "code"), [
    (("-u", "nosuchuser"), ("true",), 125),  # fails while the bundle is written, after the cgroups were prepared
    (("--rm", "-u", "nosuchuser"), ("true",), 125),
    (("-w", "/proc/self/fd/1"), ("true",), 125),
    ((), ("no-such-command",), 127),  # fails in the runtime's create
    (("-d",), ("no-such-command",), 127),  # the same in a detached monitor
])
def test_a_run_that_fails_leaves_no_cgroup(engine: Engine, flags: tuple[str, ...], args: tuple[str, ...],
                                           code: int) -> None:
    before = _engine_cgroups()
    r = engine.run(*args, flags=flags)
    assert r.returncode == code, r.stderr
    assert _engine_cgroups() == before


def test_a_start_that_fails_leaves_no_cgroup(engine: Engine) -> None:
    cid = engine.cli("create", "--rootfs", str(engine.layer), "no-such-command").stdout.strip()
    before = _engine_cgroups()
    assert engine.cli("start", "-a", cid).returncode == 127
    assert engine.cli("start", cid).returncode != 0  # the error comes from the detached monitor
    assert _engine_cgroups() == before
