"""Resource limits reach the kernel: memory (OOM kill -> 137), pids, cpus."""

from __future__ import annotations

import json

import pytest

from tests.containers.conftest import Engine

pytestmark = pytest.mark.root


def test_memory_limit_kills_with_137(engine: Engine) -> None:
    hog = 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived ${#x}'
    r = engine.run("sh", "-c", hog, flags=("-m", "32m", "--memory-swap", "32m", "--name", "hog"))
    assert r.returncode == 137 and "survived" not in r.stdout
    assert engine.cli("wait", "hog").stdout == "137\n"
    assert json.loads(engine.cli("inspect", "hog").stdout)[0]["State"]["OOMKilled"] is True
    # the same work without the limit succeeds
    r = engine.run("sh", "-c", hog)
    assert r.stdout == "survived 100000000\n"


def test_a_kill_is_not_an_oom(engine: Engine) -> None:
    assert engine.run("sleep", "60", flags=("-d", "-m", "64m", "--name", "notoom")).returncode == 0
    engine.cli("kill", "notoom")
    assert engine.cli("wait", "notoom").stdout == "137\n"
    assert json.loads(engine.cli("inspect", "notoom").stdout)[0]["State"]["OOMKilled"] is False


def test_memory_limit_is_visible(engine: Engine) -> None:
    r = engine.run("cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", flags=("-m", "48m"))
    assert r.stdout.strip() == str(48 << 20)


def test_pids_limit(engine: Engine) -> None:
    r = engine.run("sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait", flags=("--pids-limit", "4"))
    assert "can't fork" in r.stderr


def test_cpus(engine: Engine) -> None:
    files = ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    r = engine.run("cat", *files, flags=("--cpus", "0.5"))
    assert r.stdout.split() == ["50000", "100000"]
