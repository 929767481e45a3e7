"""``--init``: a static init (catatonit/tini from the host) is pid 1, reaps, and passes signals on."""

from __future__ import annotations

import time

import pytest

from geedocker.containers.plan import find_init_binary
from tests.containers.conftest import Engine

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(find_init_binary() is None, reason="no catatonit/tini/docker-init on this host"),
]


def test_init_is_pid_one(engine: Engine) -> None:
    r = engine.run("sh", "-c", "cat /proc/1/comm; echo $$", flags=("--rm", "--init"))
    assert r.returncode == 0, r.stderr
    comm, pid = r.stdout.split()
    assert comm != "sh" and pid != "1"


def test_init_forwards_the_stop_signal(engine: Engine) -> None:
    """sleep as pid 1 would ignore SIGTERM; under an init it dies of it at once."""
    assert engine.run("sleep", "60", flags=("-d", "--init", "--name", "sleeper")).returncode == 0
    time.sleep(0.3)
    t0 = time.monotonic()
    assert engine.cli("stop", "-t", "10", "sleeper").returncode == 0
    assert time.monotonic() - t0 < 5
    assert engine.cli("wait", "sleeper").stdout == "143\n"


def test_exit_code_passes_through_the_init(engine: Engine) -> None:
    assert engine.run("sh", "-c", "exit 9", flags=("--rm", "--init")).returncode == 9
