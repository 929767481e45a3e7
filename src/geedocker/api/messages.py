"""The values a request handler takes and gives back: ``Request``, ``Response``, ``Hijack``.

Each request becomes a ``Request`` (its query read as docker reads it, its body read on demand from the
connection); its handler returns a ``Response`` (a body of bytes, or an iterator of chunks streamed with chunked
encoding), or a ``Hijack`` that takes the socket over. Separate from ``api.connection``, which moves them
between h11 and the socket, so that the endpoint modules depend on these values only.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11

from geedocker.api.errors import ApiError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.api.connection import Connection
    from geedocker.store.layout import Layout

MAX_JSON_BODY = 4 * 1024 * 1024  # a create or an exec body is a few kB; docker has no cap, a front end needs one


class Request:
    """One HTTP request: method, path (version prefix removed), query, headers; the body read on demand."""

    layout: Layout  # set by the router: the store the service serves
    app: Any  # the router (geedocker.api.app.App): per-service objects such as exec sessions

    def __init__(self, conn: Connection, event: h11.Request) -> None:
        self._conn = conn
        self.method = event.method.decode("ascii").upper()
        target = event.target.decode("latin-1")
        parts = urlsplit(target)
        self.raw_path = parts.path
        self.path = parts.path
        self.version = ""
        self.query: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True)
        self.headers: dict[str, str] = {}
        for k, v in event.headers:
            self.headers[k.decode("latin-1").lower()] = v.decode("latin-1")
        self.params: dict[str, str] = {}  # path parameters the router matched
        self.upgrade = "upgrade" in self.headers.get("connection", "").lower() and "upgrade" in self.headers
        self._body_done = False

    # ---------------------------------------------------------------- query

    def arg(self, name: str, default: str = "") -> str:
        v = self.query.get(name)
        return v[-1] if v else default

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter as docker reads them: absent -> default, "", "0", "false" -> False."""
        v = self.query.get(name)
        if not v:
            return default
        return v[-1].lower() not in ("", "0", "false", "no")

    def int_arg(self, name: str, default: int | None = None) -> int | None:
        v = self.arg(name)
        if v == "":
            return default
        try:
            return int(v)
        except ValueError:
            raise ApiError(400, f"invalid value for {name!r}: {v!r}") from None

    def json_arg(self, name: str) -> Any:
        v = self.arg(name)
        if not v:
            return None
        try:
            return json.loads(v)
        except ValueError:
            raise ApiError(400, f"invalid JSON in query parameter {name!r}") from None

    def client_gone(self) -> bool:
        """The client closed its end (a stream that sends nothing for long, such as ``/events``, learns it
        here rather than at its next write)."""
        import select

        p = select.poll()
        p.register(self._conn.sock.fileno(), select.POLLHUP | select.POLLERR)
        return any(ev & (select.POLLHUP | select.POLLERR) for _, ev in p.poll(0))

    # ---------------------------------------------------------------- body

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives (each read has the connection's deadline)."""
        if self._body_done:
            return
        while True:
            try:
                ev = self._conn.next_event()
            except h11.RemoteProtocolError as e:
                raise ApiError(400, f"bad request body: {e}") from None
            if isinstance(ev, h11.Data):
                yield bytes(ev.data)
            elif isinstance(ev, h11.EndOfMessage):
                self._body_done = True
                return
            elif ev is h11.PAUSED:
                self._body_done = True
                return
            else:
                raise ApiError(400, "the request body ended early")

    def body(self, limit: int = MAX_JSON_BODY) -> bytes:
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ApiError(413, f"request body is larger than {limit} bytes")
        parts: list[bytes] = []
        size = 0
        for c in self.chunks():
            size += len(c)
            if size > limit:
                raise ApiError(413, f"request body is larger than {limit} bytes")
            parts.append(c)
        return b"".join(parts)

    def json(self, *, required: bool = True) -> Any:
        ctype = self.headers.get("content-type", "")
        data = self.body()
        if not data.strip():
            if required:
                raise ApiError(400, "request body is empty: a JSON object was expected")
            return None
        if ctype and "json" not in ctype and "text/plain" not in ctype:
            raise ApiError(400, f"unsupported Content-Type {ctype!r}: application/json was expected")
        try:
            return json.loads(data)
        except ValueError as e:
            raise ApiError(400, f"invalid JSON: {e}") from None

    def drain(self) -> None:
        for _ in self.chunks():
            pass

    def stream(self) -> BodyReader:
        return BodyReader(self.chunks())

    def peer_closed(self) -> bool:
        """Whether the client closed its end: a long streamed answer with nothing to send for a while (a
        build's silent RUN) asks, to stop work nobody waits for any more."""
        import select

        sock = self._conn.sock
        p = select.poll()
        p.register(sock, select.POLLIN | select.POLLRDHUP)
        if not p.poll(0):
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True


class BodyReader:
    """A file-like ``read(n)`` over a request body's chunks (tar contexts, image archives)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = bytearray()
        self._eof = False

    def read(self, n: int = -1, /) -> bytes:
        while not self._eof and (n < 0 or len(self._buf) < n):
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                self._eof = True
        if n < 0 or n >= len(self._buf):
            out = bytes(self._buf)
            self._buf.clear()
            return out
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def readable(self) -> bool:
        return True


class Response:
    """A status, headers and a body: bytes, or an iterator of chunks (streamed, chunked encoding)."""

    def __init__(
        self,
        status: int = 200,
        body: bytes | Iterable[bytes] = b"",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = {"Content-Type": content_type, **(headers or {})}


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj).encode() + b"\n", headers=headers)


def no_content() -> Response:
    return Response(204, b"", content_type="")


class Hijack:
    """Take the connection over after the headers: ``run(sock, already_read)`` owns the raw socket.

    With ``Upgrade: tcp`` the answer is ``101 UPGRADED``, else ``200 OK``; both with docker's raw-stream type
    (``multiplexed`` selects docker's newer ``application/vnd.docker.multiplexed-stream``)."""

    def __init__(self, run: Callable[[socket.socket, bytes], None], *, multiplexed: bool = False,
                 cancel: Callable[[], None] | None = None) -> None:  # fmt: skip
        self.run = run
        self.cancel = cancel  # called when the connection fails before ``run`` gets it
        self.content_type = (
            "application/vnd.docker.multiplexed-stream" if multiplexed else "application/vnd.docker.raw-stream"
        )


Handler = Callable[[Request], Response | Hijack]
