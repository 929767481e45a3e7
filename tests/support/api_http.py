"""The Engine API's HTTP layer served in-process on a real unix socket, with the router's real table over an
empty store (and one test route, ``/test/echo-hijack``, a hijacked stream that echoes in capitals): for the
tests of ``api.server``, ``api.connection``, ``api.messages``, ``api.app`` and the endpoints' request checks."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from geedocker.api.app import App
from geedocker.api.messages import Hijack, Request, Response
from geedocker.api.server import Server, listen
from geedocker.store.layout import Layout


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.path)
        self.sock = s


@contextmanager
def serving(tmp_path: Path) -> Iterator[str]:
    """The socket's path while the service answers on it."""
    path = str(tmp_path / "api.sock")
    layout = Layout(tmp_path / "root", tmp_path / "run")
    layout.ensure()
    app = App(layout)

    def dispatch(req: Request) -> Response | Hijack:
        if req.path == "/test/echo-hijack":  # a hijacked stream that echoes in capitals
            def run(sock: socket.socket, tail: bytes) -> None:
                data = tail
                while not data.endswith(b"\n"):
                    chunk = sock.recv(100)
                    if not chunk:
                        break
                    data += chunk
                sock.sendall(data.upper())
                sock.close()

            return Hijack(run)
        return app(req)

    sock = listen(f"unix://{path}")
    server = Server(sock, dispatch, api_version="1.41")
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield path
    finally:
        server.stop()
        t.join(5)
        sock.close()


def request(path: str, method: str, url: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    c = UnixHTTPConnection(path)
    c.request(method, url, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data
