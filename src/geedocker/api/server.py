"""The Engine API's HTTP server: the listening socket, and one thread per connection (``api.connection``).

Why threads (README, "The Engine API" compares the candidates): the engine's functions block (a pull, a
container's wait, forks for namespaces), so a thread per connection calls them as the CLI does, with no event
loop and no executor hops. ``Server`` accepts and counts connections (to exit when idle); ``listen`` makes the
socket, with dockerd's permissions.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable

from geedocker.api.connection import Connection
from geedocker.api.errors import ApiError
from geedocker.api.messages import Hijack, Request, Response
from geedocker.logger import get_logger

log = get_logger(__name__)


class Server:
    """Accept connections on ``sock``; each is served in its own thread by ``dispatch``.

    ``idle``: seconds without a connection or a byte after which ``serve_forever`` returns (0: never)."""

    def __init__(self, sock: socket.socket, dispatch: Callable[[Request], Response | Hijack], *,
                 api_version: str, idle: float = 0) -> None:  # fmt: skip
        self.sock = sock
        self.dispatch = dispatch
        self.api_version = api_version
        self.idle = idle
        self._lock = threading.Lock()
        self._active = 0
        self._last = time.monotonic()
        self._stop = threading.Event()

    def touch(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        self._stop.set()

    def _serve_one(self, conn: socket.socket) -> None:
        try:
            Connection(conn, self).serve()
        finally:
            with self._lock:
                self._active -= 1
            self.touch()

    def serve_forever(self) -> None:
        self.sock.settimeout(0.5)  # wakes to check the idle deadline and stop()
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                if self.idle > 0:
                    with self._lock:
                        idle = self._active == 0 and time.monotonic() - self._last >= self.idle
                    if idle:
                        log.info("no request for %s seconds: exiting", self.idle)
                        return
                continue
            except OSError:
                if self._stop.is_set():
                    return
                raise
            conn.settimeout(None)
            with self._lock:
                self._active += 1
            self.touch()
            threading.Thread(target=self._serve_one, args=(conn,), daemon=True, name="api-conn").start()


def listen(uri: str) -> socket.socket:
    """A listening socket for ``unix:///path`` (mode 0660, group ``docker`` when it exists, as dockerd's)
    or ``tcp://127.0.0.1:PORT`` (unauthenticated: root on the host for anyone who reaches it)."""
    if uri.startswith("unix://"):
        path = uri[len("unix://") :]
        if not path.startswith("/"):
            raise ApiError(400, f"unix socket path must be absolute: {uri}")
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent, mode=0o711, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a stale socket from a service that died
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # never world-accessible, not even for the instant before the chmod
        try:
            s.bind(path)
        finally:
            os.umask(old)
        gid = _docker_group()
        if gid is not None and os.geteuid() == 0:
            os.chown(path, 0, gid)
        os.chmod(path, 0o660)
        s.listen(128)
        return s
    if uri.startswith("tcp://"):
        host, _, port = uri[len("tcp://") :].rpartition(":")
        if not port.isdigit() or not host:
            raise ApiError(400, f"invalid tcp address {uri!r}: expected tcp://HOST:PORT")
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host.strip("[]"), int(port)))
        s.listen(128)
        return s
    raise ApiError(400, f"unsupported address {uri!r}: expected unix:///PATH or tcp://HOST:PORT")


def _docker_group() -> int | None:
    import grp  # only the service needs it

    try:
        return grp.getgrnam(os.environ.get("GEEDOCKER_SOCKET_GROUP", "docker")).gr_gid
    except KeyError:
        return None
