"""``refresh``: a record that claims its container runs, checked against the processes (a crash, a reboot).

Apart from ``lifecycle`` so that the commands that only read records (``ps``, ``inspect``, ``logs``) check them
without loading the start path: the runtime and the mount code load only for a record to correct.
"""

from __future__ import annotations

import contextlib

from geedocker.containers.engine import Engine
from geedocker.containers.record import ContainerRecord, Status, is_alive
from geedocker.errors import GeeDockerError
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339


def refresh(layout: Layout, rec: ContainerRecord) -> ContainerRecord:
    """The record, corrected if it claims to run but its process and monitor are gone (crash, reboot)."""
    if rec.state.status != Status.RUNNING:
        return rec
    if is_alive(rec.state.pid, rec.state.pid_start) or is_alive(rec.state.monitor_pid, rec.state.monitor_start):
        return rec
    from geedocker.containers import rootfs

    store = Engine.of(layout).containers
    backend = Engine.of(layout).backend(rec.runtime or None)
    code: int | None = None
    finished = ""
    with contextlib.suppress(GeeDockerError):
        st = backend.state(rec.id)  # the runtime's own monitor (the init's parent) may have seen the exit
        code, finished = st.exit_code, st.finished_at
    with contextlib.suppress(GeeDockerError):
        backend.delete(rec.id, force=True)
    with contextlib.suppress(GeeDockerError):
        rootfs.unmount(store.rootfs(rec.id))
    from geedocker import network

    with contextlib.suppress(GeeDockerError):
        network.stop(layout, rec.id)  # network hook: what the dead monitor did not release
    try:
        return store.update_state(
            rec.id, status=Status.EXITED, exit_code=255 if code is None else code,
            finished_at=finished or now_rfc3339(),  # the exit's time, if the runtime's monitor saw it
            pid=0, pid_start=0, error="" if code is not None else "the container's monitor died",
        )  # fmt: skip
    except GeeDockerError:
        return rec
