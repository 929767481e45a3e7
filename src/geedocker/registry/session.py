"""``RegistrySession``: how every request to one registry host is sent.

It settles https or http with the first ``GET /v2/`` (learning the auth challenge), adds the User-Agent and
the token or credentials for the request's scopes (fetching a fresh token once on a 401), retries connection
failures and 429/5xx answers with backoff and Retry-After, and follows redirects (dropping Authorization on
another host). The API calls (manifests, blobs, uploads, tags) are built on it in their own modules and put
together as ``registry.client.RegistryClient``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urljoin, urlsplit

from geedocker.errors import GeeDockerError, TransportError
from geedocker.logger import get_logger
from geedocker.registry.auth import Authenticator, Scope
from geedocker.registry.config import RegistryConfig
from geedocker.registry.errormap import RETRY_STATUSES, error_for
from geedocker.registry.transport import ConnectionFailure, Response, TLSFailure, Transport

log = get_logger(__name__)

MAX_REDIRECTS = 5


def _retry_after(value: str | None, cap: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), cap))


class RegistrySession:
    """Requests to one registry host. Thread-safe; share it between parallel downloads."""

    def __init__(
        self, host: str, *, config: RegistryConfig | None = None, transport: Transport | None = None
    ) -> None:
        self.host = host
        self.config = config or RegistryConfig()
        if transport is None:
            from geedocker.registry.transport import Urllib3Transport

            transport = Urllib3Transport(self.config)
            self._owns_transport = True
        else:
            self._owns_transport = False
        self._transport = transport
        creds = self.config.credentials
        if creds is None:
            from geedocker.registry.credentials import DockerConfigStore

            creds = DockerConfigStore.from_env()
        self.auth = Authenticator(host, creds, self._fetch_token)
        self._scheme: str | None = None
        self._ready_lock = threading.Lock()
        self.sleep: Callable[[float], None] = time.sleep  # tests replace this to record delays

    @property
    def scheme(self) -> str:
        self._ensure_ready()
        assert self._scheme is not None
        return self._scheme

    def _url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}{path}"

    def _backoff(self, attempt: int) -> float:
        base = self.config.retry_base_delay * (2**attempt)
        return float(min(self.config.retry_max_delay, base) * (0.5 + random.random() / 2))

    def _send_following(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, follow: bool
    ) -> Response:
        """Send, following redirects for GET/HEAD; Authorization is only sent to the registry host."""
        hdrs = dict(headers)
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._transport.send(method, url, hdrs, body)
            if not follow or resp.status not in (301, 302, 303, 307, 308) or method not in ("GET", "HEAD"):
                return resp
            location = resp.headers.get("location")
            resp.close()
            if not location:
                raise TransportError(f"{self.host}: redirect without a Location from {url}")
            new = urljoin(url, location)
            if urlsplit(new).netloc != urlsplit(url).netloc:
                hdrs.pop("Authorization", None)
            log.debug("redirect %s -> %s", url, new)
            url = new
        raise TransportError(f"{self.host}: more than {MAX_REDIRECTS} redirects for {url}")

    def _with_retries(self, what: str, send: Callable[[], Response], *, resend: bool = True) -> Response:
        """Retry connection failures and 429/5xx answers with exponential backoff and jitter.

        ``resend=False`` (upload chunks) retries a connection failure only if it was refused, since the
        server may have taken the bytes.
        """
        attempts = self.config.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                resp = send()
            except ConnectionFailure as e:
                if last or not (resend or e.refused):
                    raise TransportError(f"{what}: {e} (after {attempt + 1} attempts)") from e
                delay = self._backoff(attempt)
                log.info("%s: %s; retrying in %.2fs", what, e, delay)
                self.sleep(delay)
                continue
            if resp.status in RETRY_STATUSES and not last:
                ra = _retry_after(resp.headers.get("retry-after"), self.config.max_retry_after)
                delay = ra if ra is not None else self._backoff(attempt)
                log.info("%s: HTTP %d; retrying in %.2fs", what, resp.status, delay)
                resp.close()
                self.sleep(delay)
                continue
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    def _fetch_token(self, url: str, headers: Mapping[str, str]) -> Response:
        hdrs = {"User-Agent": self.config.user_agent, **headers}
        return self._with_retries(f"token from {urlsplit(url).netloc}", lambda: self._send_following(
            "GET", url, hdrs, None, True))

    def _ensure_ready(self) -> None:
        """Settle https vs http and learn the auth challenge with an anonymous ``GET /v2/``."""
        if self._scheme is not None:
            return
        with self._ready_lock:
            if self._scheme is not None:
                return
            hdrs = {"User-Agent": self.config.user_agent}
            schemes = ["https", "http"] if self.config.may_use_http(self.host) else ["https"]
            for i, scheme in enumerate(schemes):
                url = f"{scheme}://{self.host}/v2/"
                can_fall_back = i + 1 < len(schemes)
                try:
                    resp = self._ping_once(url, hdrs, can_fall_back)
                except TLSFailure as e:
                    if e.plain_http and can_fall_back:
                        log.debug("%s: plain HTTP server; using http", self.host)
                        continue
                    raise
                except ConnectionFailure as e:
                    if e.refused and can_fall_back:
                        log.debug("%s: https refused; trying http", self.host)
                        continue
                    raise
                try:
                    if resp.status == 401:
                        self.auth.set_challenge_from(resp.headers.get("www-authenticate"))
                finally:
                    resp.close()
                self._scheme = scheme
                return

    def _ping_once(self, url: str, hdrs: Mapping[str, str], can_fall_back: bool) -> Response:
        """A refused https connection falls back to http at once; other failures are retried."""
        if can_fall_back:
            try:
                return self._transport.send("GET", url, hdrs, None)
            except ConnectionFailure as e:
                if e.refused:
                    raise
        return self._with_retries(f"{self.host}: ping", lambda: self._transport.send("GET", url, hdrs, None))

    def _request(
        self,
        method: str,
        path_or_url: str,
        *,
        scopes: Iterable[Scope],
        what: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        follow: bool = True,
        resend: bool = True,
    ) -> Response:
        """One API request with auth (refreshing once on 401), retries and redirects."""
        url = path_or_url if "://" in path_or_url else self._url(path_or_url)
        scopes = tuple(scopes)
        auth_retried = False
        while True:
            hdrs = {"User-Agent": self.config.user_agent, **(headers or {})}
            authz = self.auth.authorization(scopes)
            if authz:
                hdrs["Authorization"] = authz
            resp = self._with_retries(what, lambda h=hdrs: self._send_following(  # type: ignore[misc]
                method, url, h, body, follow), resend=resend)
            if resp.status == 401 and not auth_retried:
                retry = self.auth.on_unauthorized(resp.headers.get("www-authenticate"), authz)
                if retry:
                    resp.close()
                    auth_retried = True
                    continue
            return resp

    def _error(self, resp: Response, what: str) -> GeeDockerError:
        """Map an unexpected response to the right error, with the registry's own message."""
        return error_for(resp, what, self.host, self.auth, self.config.retries)

    def close(self) -> None:
        if self._owns_transport:
            self._transport.close()
