"""The monitor keeps none of its caller's fds: a pipe its caller held open ends when the caller is gone, while
the container still runs (a service that forks monitors must not keep its clients' streams open)."""

from __future__ import annotations

import os
import select
import signal

import pytest

from tests.containers.conftest import Engine

pytestmark = pytest.mark.root


def _ends(r: int, timeout: float = 20) -> bool:
    """True when the pipe's read end reads EOF (every write end closed) within ``timeout``."""
    ready, _, _ = select.select([r], [], [], timeout)
    return bool(ready) and os.read(r, 1) == b""


def _running(engine: Engine, name: str) -> bool:
    return engine.cli("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"


def test_a_detached_monitor_holds_no_fd_of_its_caller(engine: Engine) -> None:
    r, w = os.pipe()
    try:
        p = engine.popen("run", "-d", "--name", "held", "--rootfs", str(engine.layer), "sleep", "60", pass_fds=(w,))
        assert p.wait(timeout=60) == 0, p.stderr.read() if p.stderr else ""
        os.close(w)
        w = -1
        assert _running(engine, "held")
        assert _ends(r), "the monitor keeps its caller's pipe open"
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_an_attached_runs_monitor_holds_no_fd_of_its_caller(engine: Engine) -> None:
    r, w = os.pipe()
    try:
        p = engine.popen("run", "--name", "held", "--rootfs", str(engine.layer), "sleep", "60", pass_fds=(w,))
        os.close(w)
        w = -1
        engine.wait_for("the container to run", lambda: _running(engine, "held"), timeout=30)
        p.send_signal(signal.SIGKILL)  # the CLI goes; the monitor takes the container on
        p.wait(timeout=10)
        assert _ends(r), "the monitor keeps its caller's pipe open"
        assert _running(engine, "held")
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
