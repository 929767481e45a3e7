"""``docker wait``: blocking until a container is not running, has next exited, or is removed (the Engine
API's wait conditions); its exit code.
"""

from __future__ import annotations

import time

from geedocker.containers.engine import Engine
from geedocker.containers.record import Status
from geedocker.containers.refresh import refresh
from geedocker.errors import ContainerError, GeeDockerError, UsageError
from geedocker.store.layout import Layout

WAIT_CONDITIONS = ("not-running", "next-exit", "removed")


def wait(layout: Layout, ref: str, condition: str = "not-running") -> int:
    """Block until the container is not running (``next-exit``: until it next exits, if it is not running yet;
    ``removed``: until it is removed, as the Engine API's wait conditions); its exit code."""
    if condition not in WAIT_CONDITIONS:
        raise UsageError(f"invalid condition: {condition!r} (not-running, next-exit or removed)")
    store = Engine.of(layout).containers
    rec = store.resolve(ref)
    delay = 0.005
    seen_start = rec.state.started_at
    last = rec.state.exit_code
    while True:
        try:
            cur = refresh(layout, store.load(rec.id))
        except GeeDockerError:
            try:  # an auto-removed container leaves its exit code behind
                return int(store.exit_file(rec.id).read_text().strip())
            except (OSError, ValueError) as e:
                if condition == "removed":
                    return last
                raise ContainerError(f"container {ref} was removed while waiting") from e
        last = cur.state.exit_code
        stopped = cur.state.status == Status.EXITED or (cur.state.status == Status.CREATED and cur.state.error)
        fresh = condition != "next-exit" or cur.state.started_at != seen_start or rec.state.status == Status.RUNNING
        if stopped and fresh and condition != "removed":
            return cur.state.exit_code
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
