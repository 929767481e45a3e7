"""The Engine API's HTTP server: h11 for HTTP/1.1, one thread per connection, hijacked streams.

Why h11 and threads (README, "The Engine API" compares the candidates): the engine's functions block (a pull, a
container's wait, forks for namespaces), so a thread per connection calls them as the CLI does, with no event
loop and no executor hops; docker's hijacked streams (attach, exec start: ``Upgrade: tcp``, then raw
bidirectional bytes) are h11's protocol switch (``101`` then ``trailing_data``), after which the thread owns the
plain socket. h11 parses and frames HTTP (bounded header sizes, chunked bodies, keep-alive); this module only
moves bytes between it and the socket.

Each request becomes a ``Request``; its handler returns a ``Response`` (a body of bytes, or an iterator of
chunks streamed with chunked encoding), or a ``Hijack`` that takes the socket over.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11

from geedocker.api.errors import ApiError
from geedocker.logger import get_logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.store.layout import Layout

log = get_logger(__name__)

MAX_JSON_BODY = 4 * 1024 * 1024  # a create or an exec body is a few kB; docker has no cap, a front end needs one
MAX_HEADERS = 64 * 1024  # X-Registry-Config can carry every credential of a config.json
READ_SIZE = 65536
SERVER = "geedocker"


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


class Connection:
    """One client connection: h11's state machine fed from the socket."""

    def __init__(self, sock: socket.socket, server: Server) -> None:
        self.sock = sock
        self.server = server
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADERS)

    def next_event(self) -> Any:
        while True:
            ev = self.h11.next_event()
            if ev is not h11.NEED_DATA:
                return ev
            data = self.sock.recv(READ_SIZE)
            self.server.touch()
            self.h11.receive_data(data)

    def send(self, event: Any) -> None:
        data = self.h11.send(event)
        if data:
            self.sock.sendall(data)

    def serve(self) -> None:
        try:
            while True:
                try:
                    ev = self.next_event()
                except h11.RemoteProtocolError as e:
                    self._protocol_error(e)
                    return
                if isinstance(ev, h11.ConnectionClosed) or ev is h11.PAUSED:
                    return
                if not isinstance(ev, h11.Request):
                    return
                if not self._one(ev):
                    return
                if self.h11.our_state is h11.MUST_CLOSE or self.h11.their_state is h11.MUST_CLOSE:
                    return
                try:
                    self.h11.start_next_cycle()
                except h11.LocalProtocolError:
                    return
        except (OSError, h11.LocalProtocolError, h11.RemoteProtocolError):
            return  # the client went away (a reset, a broken pipe): nothing to answer
        finally:
            with contextlib.suppress(OSError):
                self.sock.close()

    def _protocol_error(self, e: h11.RemoteProtocolError) -> None:
        if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            body = json.dumps({"message": f"bad HTTP request: {e}"}).encode()
            with contextlib.suppress(OSError, h11.LocalProtocolError):
                headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), "Connection": "close"}
                self.send(h11.Response(status_code=e.error_status_hint, reason=_reason(e.error_status_hint),
                                       headers=self._headers(headers)))  # fmt: skip
                self.send(h11.Data(data=body))
                self.send(h11.EndOfMessage())

    def _headers(self, extra: dict[str, str]) -> list[tuple[str, str]]:
        h = {"Server": SERVER, "Api-Version": self.server.api_version, "Docker-Experimental": "false",
             "Ostype": "linux"}  # fmt: skip
        h.update(extra)
        return [(k, v) for k, v in h.items() if v != ""]

    def _one(self, ev: h11.Request) -> bool:
        """Answer one request; False when the connection is done (hijacked, or closed)."""
        req = Request(self, ev)
        started = time.monotonic()
        try:
            result = self.server.dispatch(req)
        except ApiError as e:
            result = json_response({"message": e.message}, e.status)
        log.debug("%s %s -> %s (%.3fs)", req.method, req.raw_path,
                  getattr(result, "status", 101), time.monotonic() - started)  # fmt: skip
        if isinstance(result, Hijack):
            return self._hijack(req, result)
        if not req._body_done and result.status != 413:
            try:
                req.drain()  # keep-alive needs the whole request read; a 413's body is left (and the connection)
            except ApiError:
                return False
        self._respond(req, result)
        return True

    def _respond(self, req: Request, res: Response) -> None:
        headers = dict(res.headers)
        body = res.body
        if isinstance(body, bytes | bytearray):
            headers["Content-Length"] = str(len(body)) if res.status not in (204, 304) else ""
            if not req._body_done:
                headers["Connection"] = "close"  # the body we did not read cannot be skipped safely
            self.send(h11.Response(status_code=res.status, reason=_reason(res.status), headers=self._headers(headers)))
            if body and req.method != "HEAD":
                self.send(h11.Data(data=bytes(body)))
            self.send(h11.EndOfMessage())
            return
        # streamed: chunked encoding; every chunk is sent at once (progress, logs, events, stats)
        self.send(h11.Response(status_code=res.status, reason=_reason(res.status), headers=self._headers(headers)))
        it = iter(body)
        try:
            for chunk in it:
                if chunk:
                    self.send(h11.Data(data=chunk))
                    self.server.touch()
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()  # a generator's finally blocks run now, also when the client went away
        self.send(h11.EndOfMessage())

    def _hijack(self, req: Request, hj: Hijack) -> bool:
        try:
            tail = self._switch(req, hj)
        except BaseException:
            if hj.cancel is not None:
                hj.cancel()
            raise
        self.sock.settimeout(None)  # a hijacked stream lives as long as the container's stdio
        hj.run(self.sock, bytes(tail))
        return False

    def _switch(self, req: Request, hj: Hijack) -> bytes:
        """Answer the request with the stream's headers; the bytes the client sent after it."""
        if not req._body_done:
            req.drain()
        upgraded = False
        if req.upgrade:
            try:  # h11 allows the 101 only for a request that proposed the switch (Upgrade + Connection)
                self.send(h11.InformationalResponse(status_code=101, reason=b"UPGRADED", headers=self._headers(
                    {"Content-Type": hj.content_type, "Connection": "Upgrade", "Upgrade": "tcp"})))
                upgraded = True
            except h11.LocalProtocolError:
                pass
        if upgraded:
            tail, _ = self.h11.trailing_data
        else:  # docker's old-style hijack: a 200 whose body is the raw stream, no framing of HTTP's
            head = [f"HTTP/1.1 200 OK\r\nContent-Type: {hj.content_type}\r\n"]
            head += [f"{k}: {v}\r\n" for k, v in self._headers({}) if k != "Content-Type"]
            self.sock.sendall(("".join(head) + "\r\n").encode("latin-1"))
            tail = b""
        return bytes(tail)


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


def _reason(status: int) -> bytes:
    from http import HTTPStatus  # only the service needs it

    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def _docker_group() -> int | None:
    import grp  # only the service needs it

    try:
        return grp.getgrnam(os.environ.get("GEEDOCKER_SOCKET_GROUP", "docker")).gr_gid
    except KeyError:
        return None
