"""The processes the runtime forked, seen from the runtime: signal one through a pidfd (checking it is still the
process that started then), wait for it to die, reap it; the pid file; the console socket.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal as _signal
from pathlib import Path

from geedocker.errors import ContainerError
from geedocker.procs import pid_alive
from geedocker.runtime.state import proc_start_time

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import socket

    from geedocker.runtime.spec_process import Process


def reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def reap_exited_monitor(pid: int) -> None:
    """Collect the monitor if it is our child (we created the container in this process) and has exited."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def kill_pid(pid: int, start: int, sig: int) -> None:
    """Signal ``pid`` through a pidfd, after checking it is still the process that started at ``start``."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        if start and proc_start_time(pid) != start:
            return
        with contextlib.suppress(ProcessLookupError):
            _signal.pidfd_send_signal(pidfd, sig)
    finally:
        os.close(pidfd)


def wait_dead(pid: int, start: int, timeout: float | None) -> bool:
    """Wait until ``pid`` (with that start time) has exited (a zombie counts); False on timeout."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        if not pid_alive(pid, start):
            return True
        r, _, _ = select.select([pidfd], [], [], timeout)
        return bool(r)
    finally:
        os.close(pidfd)


def console_for(p: Process, console_socket: Path | str | None) -> socket.socket | None:
    """The connected console socket when ``p.terminal`` (connected here, in the runtime's namespaces)."""
    if not p.terminal:
        return None
    from geedocker.runtime import console
    if console_socket is None:
        raise ContainerError("process.terminal is true but no console socket was given")
    return console.connect(os.fspath(Path(console_socket).absolute()))


def write_pid_file(path: Path, pid: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(str(pid))
    os.replace(tmp, path)
