"""``LiteTransport``: the ``Transport`` of a cached pull, one small HTTP/1.1 request per connection.

A cached pull sends one manifest request (and, on a registry with token auth, one token request). urllib3 and
even ``http.client`` (which loads the ``email`` package to parse headers) cost more to import than the whole
request takes, so this module speaks the little HTTP/1.1 those requests need over a socket: a request with
``Connection: close``, a status line, headers, and a small body (``Content-Length``, chunked, or up to the close),
read whole and capped. TLS, proxies and insecure registries follow the same rules as ``Urllib3Transport``, from
the same places: ``transport.ssl_context`` (system CAs + certs.d, client certificates, unverified only for
insecure registries), ``transport.proxy_for`` (HTTPS_PROXY/HTTP_PROXY/NO_PROXY, loopback never proxied; HTTPS
through a CONNECT tunnel). It never follows redirects: the caller gives up on one (and pulls the long way).
"""

from __future__ import annotations

from geedocker.errors import RegistryError, TransportError
from geedocker.registry.config import RegistryConfig, split_host
from geedocker.registry.transport import (
    ConnectionFailure,
    Response,
    StallWatch,
    proxy_for,
    ssl_context,
    tls_error,
)

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    import socket
    from collections.abc import Mapping

MAX_HEAD = 64 * 1024  # status line and headers
MAX_BODY = 4 * 1024 * 1024  # manifests (oci.MAX_MANIFEST_BYTES), tokens and error bodies are smaller


class _Bytes:
    """A response body already read whole."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)

    def read(self, n: int = -1, /) -> bytes:
        if n < 0 or n >= len(self._data):
            out, self._data = self._data, memoryview(b"")
        else:
            out, self._data = self._data[:n], self._data[n:]
        return out.tobytes()

    def close(self) -> None:
        self._data = memoryview(b"")


class _Reader:
    def __init__(self, sock: socket.socket, stall: StallWatch | None = None) -> None:
        self.sock = sock
        self.buf = b""
        self.stall = stall  # a registry that trickles its answer is broken off

    def _more(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        if self.stall is not None and data:
            self.stall.seen(len(data))
        return bool(data)

    def until(self, marker: bytes, cap: int) -> bytes:
        while (i := self.buf.find(marker)) < 0:
            if len(self.buf) > cap:
                raise RegistryError(f"response header over {cap} bytes")
            if not self._more():
                raise ConnectionError("connection closed in the middle of a response")
        out, self.buf = self.buf[:i], self.buf[i + len(marker) :]
        return out

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._more():
                raise ConnectionError("connection closed in the middle of a response body")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self, cap: int) -> bytes:
        while len(self.buf) <= cap and self._more():
            pass
        return self.buf


class LiteTransport:
    """One request per call, on a fresh connection (see the module doc). Thread-compatible, not shared."""

    def __init__(self, config: RegistryConfig, max_body: int = MAX_BODY) -> None:
        self._config = config
        self._max_body = max_body
        self.sent = 0  # requests sent, for tests and logs

    def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> Response:
        scheme, _, rest = url.partition("://")
        netloc, slash, path = rest.partition("/")
        if scheme not in ("http", "https") or not netloc:
            raise TransportError(f"unsupported URL {url!r}")
        name, port = split_host(netloc)
        port = port or (443 if scheme == "https" else 80)
        proxy = proxy_for(url)
        target = "/" + path if slash else "/"
        try:
            sock = self._connect(scheme, netloc, name, port, proxy)
            if proxy and scheme == "http":
                target = url  # a plain HTTP proxy takes the absolute URI
            try:
                return self._exchange(sock, method, url, target, netloc, headers, body)
            finally:
                sock.close()
        except TransportError:
            raise
        except OSError as e:
            import ssl  # noqa: PLC0415 - only to tell TLS failures apart (already loaded when TLS was used)

            if isinstance(e, ssl.SSLError | ssl.CertificateError):
                raise tls_error(url, e) from e
            text = str(e)
            refused = isinstance(e, ConnectionRefusedError)
            raise ConnectionFailure(f"{netloc}: {'cannot connect' if refused else 'connection failed'}: {text}",
                                    refused=refused) from e

    def _connect(self, scheme: str, netloc: str, name: str, port: int, proxy: str | None) -> socket.socket:
        import socket  # noqa: PLC0415 - a cached pull is the only command here that opens a connection

        timeout = self._config.connect_timeout
        if proxy:
            from urllib.parse import urlsplit

            p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            if p.scheme != "http" or p.username:
                raise TransportError(f"proxy {proxy}: only plain http proxies without credentials here")
            sock = socket.create_connection((p.hostname or "", p.port or 80), timeout=timeout)
            if scheme == "https":
                try:
                    self._tunnel(sock, netloc)
                except BaseException:
                    sock.close()
                    raise
        else:
            sock = socket.create_connection((name, port), timeout=timeout)
        sock.settimeout(self._config.read_timeout)
        if scheme == "https":
            ctx = ssl_context(self._config, netloc)
            try:
                return ctx.wrap_socket(sock, server_hostname=name)
            except BaseException:
                sock.close()
                raise
        return sock

    @staticmethod
    def _tunnel(sock: socket.socket, netloc: str) -> None:
        sock.sendall(f"CONNECT {netloc} HTTP/1.1\r\nHost: {netloc}\r\n\r\n".encode())
        reader = _Reader(sock)
        head = reader.until(b"\r\n\r\n", MAX_HEAD)
        status = head.split(b" ", 2)
        if len(status) < 2 or status[1] != b"200":
            raise ConnectionError(f"proxy refused CONNECT {netloc}: {head[:200]!r}")

    def _exchange(self, sock: socket.socket, method: str, url: str, target: str, netloc: str,
                  headers: Mapping[str, str], body: bytes | None) -> Response:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {netloc}", "Connection: close", "Accept-Encoding: identity"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        sock.sendall("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + (body or b""))
        self.sent += 1
        reader = _Reader(sock, StallWatch(netloc, self._config.stall_timeout, self._config.stall_bytes))
        head = reader.until(b"\r\n\r\n", MAX_HEAD).decode("latin-1").split("\r\n")
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ConnectionFailure(f"{netloc}: not an HTTP response: {head[0][:100]!r}")
        status = int(parts[1])
        hdrs: dict[str, str] = {}
        for line in head[1:]:
            k, sep, v = line.partition(":")
            if sep:
                key = k.strip().lower()
                hdrs[key] = f"{hdrs[key]}, {v.strip()}" if key in hdrs else v.strip()
        data = b""
        if method != "HEAD" and status not in (204, 304) and not 100 <= status < 200:
            data = self._body(reader, hdrs, netloc)
        return Response(status, hdrs, _Bytes(data), url)

    def _body(self, reader: _Reader, hdrs: dict[str, str], netloc: str) -> bytes:
        cap = self._max_body
        if "chunked" in hdrs.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(reader.until(b"\r\n", MAX_HEAD).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    reader.until(b"\r\n", MAX_HEAD)  # trailers, if any, end with an empty line
                    return b"".join(chunks)
                total += size
                if total > cap:
                    raise RegistryError(f"{netloc}: response body over {cap} bytes")
                chunks.append(reader.exactly(size))
                reader.exactly(2)
        length = hdrs.get("content-length", "")
        if length.isdigit():
            if int(length) > cap:
                raise RegistryError(f"{netloc}: response body of {length} bytes is over {cap} bytes")
            return reader.exactly(int(length))
        data = reader.rest(cap)
        if len(data) > cap:
            raise RegistryError(f"{netloc}: response body over {cap} bytes")
        return data

    def close(self) -> None:
        pass
