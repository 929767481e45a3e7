"""The console socket protocol (runc's): the runtime sends the pty master over a unix socket (SCM_RIGHTS); and
the caller's terminal put in raw mode for ``-it`` (``raw_mode``)."""

from __future__ import annotations

import array
import os
import socket
from pathlib import Path

from geedocker.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class ConsoleSocket:
    """A listening unix socket; ``receive()`` returns the pty master fd the runtime sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with_suppress_unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(1)

    def receive(self, timeout: float = 10.0) -> int:
        self.sock.settimeout(timeout)
        try:
            conn, _ = self.sock.accept()
        except TimeoutError as e:
            raise ContainerError("the runtime did not send the container's terminal") from e
        with conn:
            conn.settimeout(timeout)
            fds = array.array("i")
            _, ancdata, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
            for level, typ, data in ancdata:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
        if not fds:
            raise ContainerError("the runtime sent no terminal over the console socket")
        for extra in fds[1:]:
            os.close(extra)
        os.set_inheritable(fds[0], False)
        return int(fds[0])

    def close(self) -> None:
        self.sock.close()
        with_suppress_unlink(self.path)


def with_suppress_unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def raw_mode(fd: int) -> list[Any]:
    """Put the terminal ``fd`` in raw mode at once, keeping what was typed before (TCSANOW: ``tty.setraw``'s
    default, TCSAFLUSH, would discard input typed while the container was starting, which docker keeps); the
    attributes to restore."""
    import termios
    import tty

    saved: list[Any] = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)
    return saved
