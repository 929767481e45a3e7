"""What ``stop``, ``kill`` and ``rm -f`` share to bring a container down: the thaw of a paused one (a signal
waits for it), and the waits for its process and its monitor to be gone. Apart so that ``lifecycle`` (whose
``run --rm`` removes) and ``removal`` both use them without importing each other.
"""

from __future__ import annotations

import contextlib
import os
import time

from geedocker.containers.engine import Engine
from geedocker.containers.plan import engine_cgroups_path
from geedocker.containers.record import ContainerRecord, Status, is_alive
from geedocker.containers.refresh import refresh
from geedocker.errors import GeeDockerError
from geedocker.store.layout import Layout


def _running(layout: Layout, rec: ContainerRecord) -> bool:
    return refresh(layout, Engine.of(layout).containers.load(rec.id)).state.status == Status.RUNNING


def wait_not_running(layout: Layout, rec: ContainerRecord, timeout: float | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            if not _running(layout, rec):
                return True
        except GeeDockerError:
            return True  # removed
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def wait_monitor_gone(rec: ContainerRecord, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while is_alive(rec.state.monitor_pid, rec.state.monitor_start) and time.monotonic() < deadline:
        time.sleep(0.01)


def thaw_if_paused(layout: Layout, rec: ContainerRecord) -> None:
    """A signal to a paused container waits for the thaw: ``kill`` and ``stop`` thaw it after signalling (docker)."""
    store = Engine.of(layout).containers
    if store.is_paused(rec):
        from geedocker.runtime.cgroups import for_container  # here: only paused containers need it

        with contextlib.suppress(GeeDockerError):
            for_container(engine_cgroups_path(rec.id), rec.id).thaw()
        with contextlib.suppress(OSError):
            os.unlink(store.paused_marker(rec.id))
