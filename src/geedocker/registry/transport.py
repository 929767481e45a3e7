"""The HTTP seam: a tiny ``Transport`` protocol, its ``Response``, and the urllib3 implementation.

Transports send exactly one request and never follow redirects or retry: the client does both, so the
in-memory fake transport of the tests exercises the same paths as the real one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from geedocker.errors import RegistryError, TransportError
from geedocker.logger import get_logger
from geedocker.registry.config import RegistryConfig, is_loopback

if TYPE_CHECKING:
    import ssl

    import urllib3

log = get_logger(__name__)


class ConnectionFailure(TransportError):
    """The connection could not be made, broke, or timed out. Worth retrying."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class TLSFailure(TransportError):
    """The TLS handshake failed. ``plain_http`` when the server answered in plain HTTP."""

    def __init__(self, message: str, *, plain_http: bool = False) -> None:
        super().__init__(message)
        self.plain_http = plain_http


class _Body(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class Response:
    """One HTTP response. ``headers`` has lower-case keys; the body streams through ``read``."""

    def __init__(self, status: int, headers: Mapping[str, str], body: _Body, url: str) -> None:
        self.status = status
        self.headers: dict[str, str] = {k.lower(): v for k, v in headers.items()}
        self.url = url
        self._body = body
        self._closed = False

    def read(self, n: int = -1) -> bytes:
        if self._closed:
            return b""
        return self._body.read(n)

    def read_capped(self, cap: int, what: str) -> bytes:
        """The whole body, refusing more than ``cap`` bytes (RegistryError naming ``what``)."""
        length = self.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            self.close()
            raise RegistryError(f"{what}: response of {length} bytes is over the {cap}-byte limit")
        data = read_at_most(self.read, cap)
        if data is None:
            self.close()
            raise RegistryError(f"{what}: response is over the {cap}-byte limit")
        return data

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._body.close()


class Transport(Protocol):
    def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> Response: ...

    def close(self) -> None: ...


_PLAIN_HTTP_MARKERS = ("wrong version number", "wrong_version_number", "record layer failure", "http request",
                       "packet length too long", "unknown protocol")


def _host_of(url: str) -> str:
    return url.partition("://")[2].partition("/")[0]


def tls_error(url: str, err: BaseException) -> TLSFailure:
    """Turn an ssl/urllib3 TLS error into a TLSFailure with a hint on what to do."""
    host = _host_of(url)
    text = str(err)
    low = text.lower()
    if any(m in low for m in _PLAIN_HTTP_MARKERS):
        return TLSFailure(
            f"{host}: server gave HTTP response to HTTPS client; mark the registry insecure to use plain HTTP",
            plain_http=True,
        )
    if "certificate verify failed" in low or "certificate_verify_failed" in low:
        reason = "certificate signed by unknown authority"
        if "hostname" in low or "ip address mismatch" in low:
            reason = "certificate is not valid for this host name"
        elif "expired" in low:
            reason = "certificate has expired"
        return TLSFailure(
            f"{host}: TLS verification failed: {reason}; add the registry's CA to "
            f"/etc/docker/certs.d/{host}/ca.crt or mark the registry insecure ({text})"
        )
    if "alert bad certificate" in low or "certificate required" in low or "alert_bad_certificate" in low:
        return TLSFailure(
            f"{host}: the registry refused our TLS client certificate (or wants one); put client.cert and "
            f"client.key in /etc/docker/certs.d/{host}/ ({text})"
        )
    return TLSFailure(f"{host}: TLS handshake failed: {text}")


_DRAIN_LIMIT = 64 * 1024


class StallWatch:
    """Breaks off a transfer that brings fewer than ``min_bytes`` in any ``window`` seconds (a registry that
    sends a byte every few seconds never trips a socket's timeout). ``seen(n)`` after each read."""

    def __init__(self, what: str, window: float, min_bytes: int) -> None:
        import time  # the clock, when a body is read

        self._clock = time.monotonic
        self._what = what
        self._window = window
        self._min = min_bytes
        self._start = self._clock()
        self._bytes = 0

    def seen(self, n: int) -> None:
        self._bytes += n
        now = self._clock()
        if now - self._start < self._window:
            return
        if self._bytes < self._min:
            raise ConnectionFailure(f"{self._what}: transfer stalled: {self._bytes} bytes in {now - self._start:.0f}s"
                                    f" (less than {self._min} in {self._window:g}s; GEEDOCKER_REGISTRY_STALL_TIMEOUT)")
        self._start, self._bytes = now, 0


class _Urllib3Body:
    def __init__(self, resp: urllib3.BaseHTTPResponse, url: str, config: RegistryConfig) -> None:
        self._resp = resp
        self._url = url
        self._stall = StallWatch(_host_of(url), config.stall_timeout, config.stall_bytes)
        self._timeout = config.read_timeout

    def read(self, n: int = -1, /) -> bytes:
        import urllib3.exceptions as ue

        try:
            if n < 0:
                parts = []
                while chunk := self.read(65536):
                    parts.append(chunk)
                return b"".join(parts)
            # read1: what one receive brings (read(n) would wait for all n bytes, however slowly they come)
            data = self._resp.read1(n, decode_content=False)
        except ue.ReadTimeoutError as e:
            raise ConnectionFailure(f"{_host_of(self._url)}: timed out while reading: no data for "
                                    f"{self._timeout:g}s (GEEDOCKER_REGISTRY_RESPONSE_TIMEOUT)") from e
        except ue.SSLError as e:
            raise ConnectionFailure(f"{_host_of(self._url)}: TLS error while reading: {e}") from e
        except (ue.HTTPError, OSError) as e:
            raise ConnectionFailure(f"{_host_of(self._url)}: connection broken while reading: {e}") from e
        if data:
            self._stall.seen(len(data))
        return data

    def close(self) -> None:
        # A (nearly) fully read body is drained and its connection goes back to the pool; a half-read
        # one (a blob we stop reading) is closed rather than drained.
        remaining = getattr(self._resp, "length_remaining", None)
        if remaining is not None and remaining <= _DRAIN_LIMIT:
            self._resp.drain_conn()
        else:
            self._resp.close()
        self._resp.release_conn()


_PROXY_VARS = frozenset({"http_proxy", "https_proxy", "all_proxy"})


def proxy_for(url: str) -> str | None:
    """The proxy from HTTPS_PROXY/HTTP_PROXY/NO_PROXY for ``url``; loopback hosts are never proxied."""
    import os

    if not any(k.lower() in _PROXY_VARS and v for k, v in os.environ.items()):
        return None  # no proxy set: urllib.request (~8 ms of imports) is not needed to say so
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if is_loopback(parts.netloc):
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme)
    if not proxy:
        return None
    bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 - not in typeshed
    if bypass(parts.hostname or "", proxies):
        return None
    return proxy


def ssl_context(config: RegistryConfig, host: str) -> ssl.SSLContext:
    """TLS for ``host``: the system CAs plus certs.d's CAs and client certificates; unverified only for a
    registry listed as insecure. Every transport builds its context here."""
    import ssl

    ctx = ssl.create_default_context()
    cas, pairs = config.tls_files(host)
    for ca in cas:
        try:
            ctx.load_verify_locations(cafile=str(ca))
        except (ssl.SSLError, OSError) as e:
            raise TransportError(f"{host}: cannot load CA certificate {ca}: {e}") from e
    for cert, key in pairs:
        try:
            ctx.load_cert_chain(str(cert), str(key))
        except (ssl.SSLError, OSError) as e:
            raise TransportError(f"{host}: cannot load client certificate {cert}: {e}") from e
    if config.is_insecure(host):
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Urllib3Transport:
    """Real HTTP(S) with urllib3: one pool manager per (scheme, host, proxy), TLS per registry."""

    def __init__(self, config: RegistryConfig) -> None:
        self._config = config
        self._managers: dict[tuple[str, str, str | None], urllib3.PoolManager] = {}
        self._lock = threading.Lock()

    def ssl_context(self, host: str) -> ssl.SSLContext:
        return ssl_context(self._config, host)

    def _manager(self, url: str) -> urllib3.PoolManager:
        import ssl
        from urllib.parse import urlsplit

        import urllib3

        parts = urlsplit(url)
        proxy = proxy_for(url)
        key = (parts.scheme, parts.netloc, proxy)
        with self._lock:
            pm = self._managers.get(key)
            if pm is None:
                kw: dict[str, Any] = {"maxsize": max(1, self._config.max_parallel), "block": False}
                if parts.scheme == "https":
                    ctx = self.ssl_context(parts.netloc)
                    kw["ssl_context"] = ctx
                    if ctx.verify_mode == ssl.CERT_NONE:
                        kw["cert_reqs"] = "CERT_NONE"
                        kw["assert_hostname"] = False
                        # The user asked for this registry to be insecure: say so once, in our log.
                        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
                        log.warning("%s is an insecure registry: its TLS certificate is not verified", parts.netloc)
                if proxy:
                    log.debug("using proxy %s for %s", proxy, parts.netloc)
                    pm = urllib3.ProxyManager(proxy, **kw)
                else:
                    pm = urllib3.PoolManager(**kw)
                self._managers[key] = pm
            return pm

    def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> Response:
        import urllib3
        import urllib3.exceptions as ue

        pm = self._manager(url)
        timeout = urllib3.Timeout(connect=self._config.connect_timeout, read=self._config.read_timeout)
        try:
            resp = pm.request(
                method, url, headers=dict(headers), body=body, preload_content=False, decode_content=False,
                redirect=False, retries=False, timeout=timeout,
            )
        except ue.MaxRetryError as e:  # pragma: no cover - retries=False re-raises the cause directly
            raise self._map(url, e.reason or e) from e
        except (ue.HTTPError, OSError) as e:
            raise self._map(url, e) from e
        log.debug("%s %s -> %d", method, url, resp.status)
        return Response(resp.status, dict(resp.headers.items()), _Urllib3Body(resp, url, self._config), url)

    def _map(self, url: str, e: BaseException) -> TransportError:
        import ssl

        import urllib3.exceptions as ue

        host = _host_of(url)
        if isinstance(e, (ue.SSLError, ssl.SSLError)):
            return tls_error(url, e)
        text = str(e)
        if isinstance(e, ue.NewConnectionError) or "refused" in text.lower():
            return ConnectionFailure(f"{host}: cannot connect: {text}", refused="refused" in text.lower())
        if isinstance(e, ue.ConnectTimeoutError):
            return ConnectionFailure(f"{host}: timed out connecting after {self._config.connect_timeout:g}s "
                                     "(GEEDOCKER_REGISTRY_CONNECT_TIMEOUT)")
        if isinstance(e, (ue.ReadTimeoutError, TimeoutError)):
            return ConnectionFailure(f"{host}: timed out waiting for an answer: none within "
                                     f"{self._config.read_timeout:g}s (GEEDOCKER_REGISTRY_RESPONSE_TIMEOUT)")
        return ConnectionFailure(f"{host}: connection failed: {text}")

    def close(self) -> None:
        with self._lock:
            for pm in self._managers.values():
                pm.clear()
            self._managers.clear()


def read_at_most(read: Callable[[int], bytes], cap: int) -> bytes | None:
    """Everything ``read`` gives until EOF, or None as soon as that is more than ``cap`` bytes."""
    chunks: list[bytes] = []
    total = 0
    while chunk := read(min(65536, cap + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > cap:
            return None
    return b"".join(chunks)
