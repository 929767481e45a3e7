"""Running a container and stopping it: ``start`` (attached or under a monitor), ``run`` (create, then start),
``stop`` and ``kill``. Creating is ``containers.create``, removing ``containers.removal``, waiting
``containers.wait``; what stop, kill and rm share is ``containers.shutdown``.
"""

from __future__ import annotations

import contextlib
import signal

from geedocker.containers.bundle import add_devices
from geedocker.containers.create import RootfsSource, create
from geedocker.containers.engine import Engine
from geedocker.containers.monitor import run_attached, start_detached
from geedocker.containers.options import RunOptions
from geedocker.containers.plan import engine_cgroups_path
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.refresh import refresh
from geedocker.containers.shutdown import thaw_if_paused, wait_monitor_gone, wait_not_running
from geedocker.containers.store import ContainerStore, event
from geedocker.errors import ContainerError, ContainerStateError, GeeDockerError
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Callable


def start(
    layout: Layout,
    ref: str,
    *,
    attach: bool = False,
    on_started: Callable[[], None] | None = None,
    keep_manual_stop: bool = False,
    attach_stdin: bool | None = None,
    detach_keys: bytes = b"\x10\x11",
) -> int:
    """Start a created or exited container: attached (returns its exit status; ``on_started`` runs once it
    runs) or under a monitor (0). A container stopped by hand is no longer so (its restart policy applies
    again), unless ``keep_manual_stop`` (``system boot``)."""
    store = Engine.of(layout).containers
    rec = refresh(layout, store.resolve(ref))
    if rec.damaged or rec.state.status in (Status.DEAD, Status.REMOVING):
        raise ContainerStateError("container is marked for removal and cannot be started")  # docker's words
    if rec.state.manually_stopped and not keep_manual_stop:
        rec = store.update_state(rec.id, manually_stopped=False)
    if rec.state.status == Status.RUNNING:
        if attach:
            raise ContainerStateError(f"container {rec.name} is already running")
        return 0
    if rec.options.devices:
        add_devices(store, rec)
    Engine.of(layout).backend(rec.runtime or None).prepare(rec.id, engine_cgroups_path(rec.id))  # discarded if it fails
    if attach:
        return run_attached(layout, rec, on_started, attach_stdin=attach_stdin, detach_keys=detach_keys)
    start_detached(layout, rec)
    return 0


def run(
    layout: Layout, source: RootfsSource, opts: RunOptions,
    on_created: Callable[[ContainerRecord], None] | None = None, *, detach_keys: bytes = b"\x10\x11",
    sig_proxy: bool = True,
) -> tuple[ContainerRecord, int]:
    """``docker run``: create, then start attached (the exit status; 0 when the user detaches) or detached
    (0). ``on_created`` runs between the two (``--cidfile`` writes the id there, as docker's CLI does)."""
    rec = create(layout, source, opts, starting=True)
    try:
        if on_created is not None:
            on_created(rec)
        if opts.detach:
            start_detached(layout, rec)
            return rec, 0
        return rec, run_attached(layout, rec, detach_keys=detach_keys, sig_proxy=sig_proxy)
    except GeeDockerError:
        if opts.rm:
            from geedocker.containers.removal import remove  # here: only a failed run --rm needs it

            with contextlib.suppress(GeeDockerError):
                remove(layout, rec.id, force=True)
        raise


def _stopped_by_hand(store: ContainerStore, rec: ContainerRecord) -> ContainerRecord:
    """``stop``/``kill``: the restart policy leaves the container down (a back-off in progress included)."""
    if rec.options.restart and not rec.state.manually_stopped:
        return store.update_state(rec.id, manually_stopped=True)
    return rec


def kill(layout: Layout, ref: str, sig: int = signal.SIGKILL) -> ContainerRecord:
    store = Engine.of(layout).containers
    rec = _stopped_by_hand(store, refresh(layout, store.resolve(ref)))
    if rec.state.status != Status.RUNNING:
        raise ContainerStateError(f"Cannot kill container: {ref}: container {rec.id} is not running")
    # logged first: the monitor logs ``die`` as soon as the process is gone, and docker's order is kill, die
    event(layout, rec, "kill", signal=str(int(sig)))
    Engine.of(layout).backend(rec.runtime or None).kill(rec.id, sig)
    thaw_if_paused(layout, rec)
    return rec


def stop(layout: Layout, ref: str, timeout: int | None = None, sig: int | None = None) -> ContainerRecord:
    """The stop signal, then SIGKILL after ``timeout`` seconds (the container's stop timeout by default)."""
    store = Engine.of(layout).containers
    rec = _stopped_by_hand(store, refresh(layout, store.resolve(ref)))
    if rec.state.status != Status.RUNNING:
        return rec
    backend = Engine.of(layout).backend(rec.runtime or None)
    t = rec.stop_timeout if timeout is None else timeout
    backend.kill(rec.id, sig or rec.stop_signal)
    thaw_if_paused(layout, rec)
    if not wait_not_running(layout, rec, t if t >= 0 else None):  # a negative timeout waits for ever
        backend.kill(rec.id, signal.SIGKILL, all_=False)
        if not wait_not_running(layout, rec, 30):
            raise ContainerError(f"container {rec.name} did not stop after SIGKILL")
    wait_monitor_gone(rec, 10)
    event(layout, rec, "stop")
    return rec
