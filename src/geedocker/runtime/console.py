"""The container's terminal: a pty allocated inside the container, its master sent to a console socket.

runc's protocol: the caller listens on a unix socket (``--console-socket``); the runtime connects and
sends the pty master as SCM_RIGHTS ancillary data with a small payload; the slave becomes the
process's stdio and controlling terminal.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import termios

from geedocker.errors import ContainerError


class ConsoleError(ContainerError):
    """The console socket or the pty failed."""


def connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        raise ConsoleError(f"connecting to console socket {path}: {e.strerror}") from e
    s.set_inheritable(False)
    return s


def open_pty(size: tuple[int, int] | None) -> tuple[int, int]:
    """(master, slave) from this mount namespace's /dev/ptmx; the window size set when given."""
    try:
        master, slave = os.openpty()
    except OSError as e:
        raise ConsoleError(f"allocating a pty in the container: {e.strerror}") from e
    os.set_inheritable(master, False)
    if size is not None:
        rows, cols = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return master, slave


def send_master(sock: socket.socket, master: int) -> None:
    try:
        socket.send_fds(sock, [b"/dev/ptmx"], [master])
    except OSError as e:
        raise ConsoleError(f"sending the pty master to the console socket: {e.strerror}") from e


def recv_master(sock: socket.socket) -> int:
    """The caller's side: receive one pty master fd."""
    _, fds, _, _ = socket.recv_fds(sock, 4096, 1)
    if not fds:
        raise ConsoleError("the console socket peer sent no file descriptor")
    return fds[0]


def make_controlling(slave: int) -> None:
    """The slave becomes stdin/stdout/stderr and the controlling terminal (call after setsid)."""
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    if slave > 2:
        os.close(slave)


def mount_dev_console(slave: int) -> None:
    """Bind the pty slave onto /dev/console (inside the container, after pivot_root), as runc does."""
    from geedocker.runtime import syscalls

    path = os.ttyname(slave)
    try:
        if not os.path.lexists("/dev/console"):
            os.close(os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
        syscalls.mount(path, "/dev/console", None, syscalls.MS_BIND)
    except OSError as e:
        raise ConsoleError(f"binding {path} onto /dev/console: {e.strerror or e}") from e
