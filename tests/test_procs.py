"""geedocker.procs: the one liveness check (pid + start time, zombies count as gone), and the fds a fork lets go."""

from __future__ import annotations

import os
import select
import time

from geedocker.procs import pid_alive, proc_stat, release_fds, start_time, write_all


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


def test_release_fds_lets_go_of_what_the_parent_held_and_keeps_the_numbers_taken() -> None:
    r, w = os.pipe()
    kept_r, kept_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            release_fds({kept_w})
            # the pipe's write end is let go (the parent reads EOF) and its number now names /dev/null, so an
            # object of the parent that closes it later closes nothing of ours
            same = os.path.realpath(f"/proc/self/fd/{w}") == os.devnull
            os.write(kept_w, b"y" if same else b"n")
            os.close(kept_w)
            os.read(r, 1)  # /dev/null now: returns at once
            time.sleep(2)  # alive while the parent checks for EOF
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    os.close(kept_w)
    try:
        assert os.read(kept_r, 1) == b"y"
        ready, _, _ = select.select([r], [], [], 1.5)
        assert ready and os.read(r, 1) == b"", "the child still holds the pipe's write end"
    finally:
        os.close(r)
        os.close(kept_r)
        os.waitpid(pid, 0)


def test_write_all_writes_a_buffer_larger_than_a_pipe_takes_at_once() -> None:
    import threading

    data = bytes(range(256)) * 4096  # 1 MiB: a pipe takes 64 KiB at a time
    r, w = os.pipe()
    got = bytearray()

    def drain() -> None:
        while chunk := os.read(r, 65536):
            got.extend(chunk)

    t = threading.Thread(target=drain)
    t.start()
    try:
        write_all(w, data)
    finally:
        os.close(w)
        t.join(timeout=30)
        os.close(r)
    assert bytes(got) == data
