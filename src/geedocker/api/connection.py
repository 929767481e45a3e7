"""One client connection of the Engine API's server: h11 for HTTP/1.1, and hijacked streams.

Why h11 (README, "The Engine API" compares the candidates): docker's hijacked streams (attach, exec start:
``Upgrade: tcp``, then raw bidirectional bytes) are h11's protocol switch (``101`` then ``trailing_data``), after
which the connection's thread owns the plain socket. h11 parses and frames HTTP (bounded header sizes, chunked
bodies, keep-alive); this module only moves bytes between it and the socket: each request to the server's
dispatch as an ``api.messages.Request``, and its ``Response`` or ``Hijack`` back.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from typing import Any

import h11

from geedocker.api.errors import ApiError
from geedocker.api.messages import Hijack, Request, Response, json_response
from geedocker.logger import get_logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.api.server import Server

log = get_logger(__name__)

MAX_HEADERS = 64 * 1024  # X-Registry-Config can carry every credential of a config.json
READ_SIZE = 65536
SERVER = "geedocker"


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


def _reason(status: int) -> bytes:
    from http import HTTPStatus  # only the service needs it

    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""

