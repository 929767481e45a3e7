"""geedocker.procs: the one liveness check (pid + start time, zombies count as gone)."""

from __future__ import annotations

import os
import time

from geedocker.procs import pid_alive, proc_stat, start_time


def test_this_process_is_alive_with_its_start_time_and_not_with_another() -> None:
    me = os.getpid()
    started = start_time(me)
    assert started > 0
    assert pid_alive(me) and pid_alive(me, started)
    assert not pid_alive(me, started + 1)  # a reused pid: same number, other start time
    assert not pid_alive(0) and not pid_alive(-1) and proc_stat(0) is None


def test_a_zombie_is_gone_and_so_is_a_reaped_child() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        deadline = time.monotonic() + 5
        while (proc_stat(pid) or ("",))[0] != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc_stat(pid) is not None and proc_stat(pid)[0] == "Z"  # type: ignore[index]
        assert not pid_alive(pid) and start_time(pid) == 0
    finally:
        os.waitpid(pid, 0)
    assert proc_stat(pid) is None and not pid_alive(pid)
