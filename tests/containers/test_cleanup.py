"""Nothing outlives a container: mounts, cgroups, runtime state, dirs, processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.containers.conftest import Engine

pytestmark = pytest.mark.root


def _processes_using(path: Path) -> list[int]:
    """Pids whose cwd or root is inside ``path`` (a process left in a container)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        for link in ("cwd", "root"):
            try:
                if os.readlink(f"/proc/{pid}/{link}").startswith(str(path)):
                    out.append(int(pid))
            except OSError:
                pass
    return out


def test_twenty_run_rm_cycles_leave_nothing(engine: Engine) -> None:
    seen: set[str] = set()
    for i in range(20):
        flags = ("-d", "--name", f"cycle{i}") if i % 2 else ("--name", f"cycle{i}")
        r = engine.run("sh", "-c", "echo hi; sleep 0.1", flags=flags)
        assert r.returncode == 0, r.stderr
        seen |= set(engine.ids())
        rm = engine.cli("rm", "-f", f"cycle{i}")
        assert rm.returncode == 0, rm.stderr
    assert len(seen) == 20
    assert engine.leftovers(seen) == []
    assert _processes_using(engine.layout.root) == []
    assert not any(p.name.startswith("console-") for p in engine.layout.run.iterdir())


def test_rm_f_of_a_running_container_leaves_nothing(engine: Engine) -> None:
    r = engine.run("sh", "-c", "sleep 100 & sleep 100", flags=("-d",))
    cid = r.stdout.strip()
    assert engine.cli("rm", "-f", cid).returncode == 0
    assert engine.leftovers({cid}) == []
    assert _processes_using(engine.layout.root) == []
