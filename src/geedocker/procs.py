"""Is a process still the one we started? Read from ``/proc/<pid>/stat`` (state letter, start time). And
what a forked process keeps of its parent's fds (``close_fds``, ``release_fds``), and writing a whole buffer to an
fd (``write_all``: the relays between a container and its callers).

A pid alone can be reused after its process exited; the start time (clock ticks since boot) tells the
process we recorded from a newcomer with the same pid. A zombie has exited: it counts as gone.
"""

from __future__ import annotations

import os


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time) of ``pid``, or None when there is no such process."""
    if pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read(4096).decode(errors="replace")
    except OSError:
        return None
    rest = raw[raw.rfind(")") + 2 :].split()  # comm may hold spaces and parentheses: split after the last ')'
    try:
        return rest[0], int(rest[19])
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> int:
    """The start time of ``pid`` (field 22 of its stat), 0 if it is gone or a zombie."""
    st = proc_stat(pid)
    return 0 if st is None or st[0] in ("Z", "X") else st[1]


def pid_alive(pid: int, start: int = 0) -> bool:
    """Whether ``pid`` runs (not a zombie) and, when ``start`` is given, is the process started then."""
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return not start or st[1] == start


def close_fds(keep: set[int]) -> None:
    """Close every fd above 2 that is not in ``keep`` (those stay, to be closed by exec if CLOEXEC).

    A forked process that lives on (a container's init, a monitor) must not hold its parent's other fds:
    a pipe's write end held keeps its reader from EOF, a held flock's file keeps the lock taken."""
    lo = 3
    for fd in sorted(k for k in keep if k >= 3):
        if fd > lo:
            os.closerange(lo, fd)
        lo = fd + 1
    os.closerange(lo, 1 << 20)


def release_fds(keep: set[int]) -> None:
    """Point every fd above 2 that is not in ``keep`` at /dev/null: what the fds held (a pipe's end, a socket,
    a file with a lock) is let go, as ``close_fds`` does, for a forked process that goes on running Python code.

    Closing them would leave their numbers free while Python objects of the parent (a pooled connection's
    socket, a file) still name them: a new pipe takes a freed number, and the old object's finaliser closes
    it under us. /dev/null keeps each number taken until its owner, if any, closes it."""
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except (OSError, ValueError):
        fds = list(range(3, os.sysconf("SC_OPEN_MAX")))
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        for fd in fds:
            if fd > 2 and fd != null and fd not in keep:
                try:
                    os.dup2(null, fd, inheritable=False)
                except OSError:
                    pass  # not open (the listing's own fd, gone since)
    finally:
        os.close(null)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (a pipe or terminal may take it in parts)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]  # os.write retries on EINTR itself (PEP 475)
