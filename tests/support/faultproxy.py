"""A small threaded HTTP proxy on 127.0.0.1 in front of a plain-HTTP registry that injects faults.

Rules match by method and a path regex and fire for their first ``times`` matching requests:

- ``Fault.status(500)``           answer with that status (and a registry-style error body);
- ``Fault.too_many(retry_after)`` 429 with ``Retry-After``;
- ``Fault.reset(after_bytes)``    forward, send the headers and ``after_bytes`` of the body, then RST;
- ``Fault.stall(after_bytes)``    forward, send the headers and ``after_bytes`` of the body, then say nothing more
                                  until ``clear()`` or ``stop()`` (or 60 s), then RST: a pull that is busy;
- ``Fault.corrupt(at)``           forward with one body byte flipped at ``at`` (or the last byte);
- ``Fault.ignore_range()``        drop the request's Range header, so the registry sends 200 and everything.

The Host header is passed through, so Location headers the registry builds point back at the proxy.
``FaultProxy.log`` records ``(method, path, range header, fault kind or "")`` per request. Stop it with
``stop()`` (bounded); the ``fault_proxy`` fixture does that in its finalizer.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

MAX_REQUEST_BODY = 256 * 1024 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
               "transfer-encoding", "upgrade", "content-length"}


@dataclass
class Fault:
    kind: str
    method: str = "GET"
    path: str = r"/blobs/sha256:"
    times: int = 1
    status_code: int = 500
    retry_after: str = ""
    after_bytes: int = 0

    @classmethod
    def status(cls, code: int, *, method: str = "GET", path: str = r"/blobs/sha256:", times: int = 1) -> Fault:
        return cls("status", method, path, times, status_code=code)

    @classmethod
    def too_many(cls, retry_after: str = "1", *, method: str = "GET", path: str = r"/blobs/sha256:",
                 times: int = 1) -> Fault:
        return cls("status", method, path, times, status_code=429, retry_after=retry_after)

    @classmethod
    def reset(cls, after_bytes: int, *, method: str = "GET", path: str = r"/blobs/sha256:", times: int = 1) -> Fault:
        return cls("reset", method, path, times, after_bytes=after_bytes)

    @classmethod
    def stall(cls, after_bytes: int, *, method: str = "GET", path: str = r"/blobs/sha256:", times: int = 1) -> Fault:
        return cls("stall", method, path, times, after_bytes=after_bytes)

    @classmethod
    def corrupt(cls, at: int = 0, *, method: str = "GET", path: str = r"/blobs/sha256:", times: int = 1) -> Fault:
        return cls("corrupt", method, path, times, after_bytes=at)

    @classmethod
    def ignore_range(cls, *, method: str = "GET", path: str = r"/blobs/sha256:", times: int = 1) -> Fault:
        return cls("ignore_range", method, path, times)


class FaultProxy:
    def __init__(self, upstream: str, *, timeout: float = 20.0) -> None:
        self.upstream = upstream  # "127.0.0.1:port", plain HTTP
        self.timeout = timeout
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, str, str]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        assert self._httpd is not None
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.log.clear()
        self._release.set()  # stalled answers end now
        self._release = threading.Event()

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.times > 0 and f.method in (method, "*") and re.search(f.path, path):
                    f.times -= 1
                    return f
        return None

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = proxy.timeout

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_REQUEST_BODY:
                    self.send_error(413)
                    return
                body = self.rfile.read(length) if length else None
                fault = proxy._take(self.command, self.path.split("?")[0])
                with proxy._lock:
                    proxy.log.append((self.command, self.path, self.headers.get("Range", ""),
                                      fault.kind if fault else ""))
                if fault is not None and fault.kind == "status":
                    data = json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "injected fault"}]}).encode()
                    self.send_response(fault.status_code)
                    self.send_header("Content-Type", "application/json")
                    if fault.retry_after:
                        self.send_header("Retry-After", fault.retry_after)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                if fault is not None and fault.kind == "ignore_range":
                    headers = {k: v for k, v in headers.items() if k.lower() != "range"}
                if body is not None:
                    headers["Content-Length"] = str(len(body))
                host, port = proxy.upstream.rsplit(":", 1)
                conn = http.client.HTTPConnection(host, int(port), timeout=proxy.timeout)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    self._relay(resp, fault)
                finally:
                    conn.close()

            def _relay(self, resp: http.client.HTTPResponse, fault: Fault | None) -> None:
                length = resp.getheader("Content-Length")
                chunked = length is None and self.command != "HEAD" and resp.status not in (204, 304)
                buffered = resp.read(MAX_REQUEST_BODY) if chunked else None
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in _HOP_BY_HOP:
                        self.send_header(k, v)
                total = len(buffered) if buffered is not None else int(length or 0)
                self.send_header("Content-Length", str(total))
                self.end_headers()
                if self.command == "HEAD":
                    return
                sent = 0
                corrupt_at = min(fault.after_bytes, max(total - 1, 0)) if fault and fault.kind == "corrupt" else -1
                while sent < total:
                    if buffered is not None:
                        chunk = buffered[sent : sent + 65536]
                    else:
                        chunk = resp.read(min(65536, total - sent))
                    if not chunk:
                        break
                    if (fault is not None and fault.kind in ("reset", "stall")
                            and sent + len(chunk) >= fault.after_bytes):
                        self.wfile.write(chunk[: fault.after_bytes - sent])
                        self.wfile.flush()
                        if fault.kind == "stall":
                            proxy._release.wait(60)
                        # let the client read what was sent: an RST makes the kernel drop unread data
                        time.sleep(0.3)
                        self._rst()
                        return
                    if sent <= corrupt_at < sent + len(chunk):
                        i = corrupt_at - sent
                        chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1 :]
                    self.wfile.write(chunk)
                    sent += len(chunk)

            def _rst(self) -> None:
                """Close with SO_LINGER 0: the peer sees a connection reset mid-body."""
                self.close_connection = True
                sock: socket.socket = self.connection
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def fault_proxy(registry_http: Any) -> Iterator[FaultProxy]:
    """A FaultProxy in front of the plain-HTTP test registry (``registry_http`` must be importable too)."""
    proxy = FaultProxy(registry_http.host).start()
    try:
        yield proxy
    finally:
        proxy.stop()
