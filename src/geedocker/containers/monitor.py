"""The monitor process: every container runs under one, a double-forked, setsid process that runs its
``Supervisor`` until the container's end (restarts included).

For ``-d`` (``start_detached``) the monitor's stdio is /dev/null. For an attached ``run``/``start -a``
(``run_attached``) the monitor inherits the caller's stdio and copies the output there too, while the caller
only forwards its signals and waits for the exit status: a caller killed at any moment (even by SIGKILL) leaves
the monitor to finish the container's life (podman's conmon and ``container cleanup`` do the same), and its
terminal as it was. The monitor keeps none of its caller's other fds (``procs.release_fds``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from types import FrameType

from geedocker.containers.engine import Engine
from geedocker.containers.plan import engine_cgroups_path
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import event
from geedocker.containers.streams import detach_stdio
from geedocker.containers.supervisor import Supervisor
from geedocker.errors import ContainerError, GeeDockerError
from geedocker.logger import get_logger
from geedocker.procs import release_fds, write_all
from geedocker.procs import start_time as process_start_time
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

log = get_logger(__name__)

FORWARDED_SIGNALS = (
    signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
)  # fmt: skip


def run_attached(
    layout: Layout, rec: ContainerRecord, on_started: Callable[[], None] | None = None, *,
    attach_stdin: bool | None = None, detach_keys: bytes = b"\x10\x11", sig_proxy: bool = True,
) -> int:
    """Start ``rec`` wired to our stdio; its exit status. ``on_started`` runs once it runs (the API's
    attached start answers its client then). ``attach_stdin``: our input goes to it (default: when it keeps
    one, ``-i``). The detach keys (with a terminal) leave it running and return 0; with ``sig_proxy`` off, our
    signals are ours (we die of them, the container goes on).

    The container is supervised by a monitor of its own (as ``-d``), which inherits our stdio and copies
    the output there while we live: killed (even by SIGKILL), we leave a container that the monitor still
    takes to its end (exit recorded, network released, ``--rm`` honoured), as conmon does for podman."""
    event(layout, rec, "attach")  # docker's client attaches before it starts the container: attach, then start
    report_r, report_w = os.pipe()  # monitor -> us: started (or why not), then the exit status
    alive_r, alive_w = os.pipe()  # us -> monitor: never written; its end tells the monitor we are gone
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked processes
        os.close(report_r)
        os.close(alive_w)
        try:
            release_fds({report_w, alive_r})
            os.setsid()  # the terminal's signals (^C) reach us, and we forward them
            if os.fork() != 0:
                os._exit(0)
            _monitor_main(layout, rec, report_w, alive_r, attach_stdin=attach_stdin, detach_keys=detach_keys)
        finally:
            os._exit(0)
    os.close(report_w)
    os.close(alive_r)
    try:
        os.waitpid(child, 0)
        with os.fdopen(report_r, "rb") as report:
            msg = _read_message(report)
            if msg is None or msg.get("error") or not msg.get("ok"):
                _raise_launch_error(rec, msg)
            assert msg is not None
            pid, pid_start, monitor = int(msg["pid"]), int(msg["pid_start"]), int(msg["monitor"])
            _forward_to(pid, pid_start, monitor, tty=rec.options.tty, sig_proxy=sig_proxy)
            if on_started is not None:
                on_started()
            done = _read_message(report)
    finally:
        os.close(alive_w)
    if done is not None and done.get("detached"):
        return 0
    if done is not None and "exit_code" in done:
        return int(done["exit_code"])
    return _exit_code_after_monitor_died(layout, rec)


def _read_message(f: Any) -> dict[str, Any] | None:
    """One JSON line from the monitor; None when it closed the pipe first (it died)."""
    line = f.readline(1024 * 1024)
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


def _raise_launch_error(rec: ContainerRecord, msg: dict[str, Any] | None) -> None:
    if msg is None:
        raise ContainerError(f"the monitor of container {rec.id[:12]} died before starting it")
    err = ContainerError(str(msg.get("error")))
    err.exit_code = int(msg.get("exit_code", 125))
    raise err


def _forward_to(pid: int, pid_start: int, monitor: int, *, tty: bool, sig_proxy: bool = True) -> None:
    """Our signals to the container's process (a window size change to the monitor, which owns the pty)."""

    def forward(signum: int, frame: FrameType | None) -> None:
        target = monitor if signum == signal.SIGWINCH else pid
        if signum == signal.SIGWINCH or process_start_time(pid) == pid_start:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signum)

    for s in FORWARDED_SIGNALS:
        signal.signal(s, forward if sig_proxy else signal.SIG_DFL)  # without: they end us, not the container
    if tty:
        signal.signal(signal.SIGWINCH, forward)


def _exit_code_after_monitor_died(layout: Layout, rec: ContainerRecord) -> int:
    """The monitor went without telling the exit status (killed): the record's, once it is not running."""
    store = Engine.of(layout).containers
    try:
        cur = store.load(rec.id)
    except GeeDockerError:
        with contextlib.suppress(OSError, ValueError):
            return int(store.exit_file(rec.id).read_text().strip())
        return 255
    if cur.state.status == Status.EXITED:
        return cur.state.exit_code
    raise ContainerError(f"the monitor of container {rec.id[:12]} died; the container may still run")


def start_detached(layout: Layout, rec: ContainerRecord) -> None:
    """Start ``rec`` under a double-forked monitor; return once it runs (or raise why it did not)."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked processes
        os.close(r)
        try:
            release_fds({w})
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            _monitor_main(layout, rec, w)
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(child, 0)
    with os.fdopen(r, "rb") as f:
        msg = _read_message(f)
    if msg is None or msg.get("error") or not msg.get("ok"):
        _raise_launch_error(rec, msg)


def _report(w: int, msg: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the caller is gone (killed): nobody to tell
        write_all(w, json.dumps(msg).encode() + b"\n")


def _monitor_main(layout: Layout, rec: ContainerRecord, w: int, alive: int | None = None, *,
                  attach_stdin: bool | None = None,
                  detach_keys: bytes = b"\x10\x11") -> None:  # pragma: no cover - forked
    """The monitor: launch, report to the caller on ``w``, supervise until the container's end (restarts
    included). ``alive``: an attached caller's pipe (its stdio is ours until it goes or the first exit)."""
    attach = alive is not None
    if not attach:
        detach_stdio()
    os.chdir("/")  # keep no directory of the caller busy
    for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(s, signal.SIG_IGN)
    sup = Supervisor(layout, rec, attach=attach, attach_stdin=attach_stdin, detach_keys=detach_keys)
    sup.alive = alive
    sup.on_detach = lambda: _report(w, {"detached": True})
    if attach and rec.options.tty:
        signal.signal(signal.SIGWINCH, lambda signum, frame: sup._resize())
    try:
        sup.launch()
    except GeeDockerError as e:
        _report(w, {"error": str(e), "exit_code": e.exit_code})
        return
    except BaseException as e:  # noqa: BLE001 - reported to the parent, who raises it
        _report(w, {"error": f"{type(e).__name__}: {e}", "exit_code": 125})
        return
    _report(w, {"ok": True, "pid": sup.pid, "pid_start": sup.rec.state.pid_start, "monitor": os.getpid()})
    if not attach:
        os.close(w)
    while True:
        code = 255
        started = time.monotonic()
        probes = None
        if sup.rec.image_config.get("Healthcheck"):
            from geedocker.containers import health  # here: only containers with a healthcheck need it

            probes = health.start_thread(layout, sup.rec)
        try:
            sup.pump()
            code = sup.wait()
        finally:
            if probes is not None:
                probes.set()
            sup.finish(code)
        if attach:  # the caller ends with the container's first exit; a restart runs detached
            _report(w, {"exit_code": code})
            os.close(w)
            if sup.alive is not None:
                os.close(sup.alive)
                sup.alive = None
            detach_stdio()
            attach = False
        sup = _restarted(layout, rec, code, time.monotonic() - started)  # type: ignore[assignment]
        if sup is None:
            return


_delay = 0.0


def _restarted(layout: Layout, rec: ContainerRecord, code: int, ran_for: float) -> Supervisor | None:
    """The container's restart policy after an exit: wait out the back-off and launch it again (a new
    Supervisor), or None when it stays down (no policy, stopped by hand, removed, or its launch failed)."""
    global _delay
    if not rec.options.restart or rec.options.rm:
        return None
    from geedocker.containers import restart

    store = Engine.of(layout).containers
    try:
        cur = store.load(rec.id)
    except GeeDockerError:
        return None  # removed
    if not restart.should_restart(cur.options.restart, code, cur.state.restart_count, cur.state.manually_stopped):
        return None
    _delay = restart.next_delay(_delay, ran_for)
    store.update_state(rec.id, restarting=True)
    time.sleep(_delay)
    try:
        cur = store.load(rec.id)
        if cur.state.manually_stopped or cur.state.status == Status.RUNNING:
            store.update_state(rec.id, restarting=False)
            return None
        cur = store.update_state(rec.id, restarting=False, restart_count=cur.state.restart_count + 1)
        Engine.of(layout).backend(cur.runtime or None).prepare(cur.id, engine_cgroups_path(cur.id))
        sup = Supervisor(layout, cur, attach=False)
        sup.launch()
    except GeeDockerError as e:
        log.warning("restarting container %s: %s", rec.id[:12], e)
        return None
    event(layout, cur, "restart")
    return sup
