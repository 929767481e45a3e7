"""``RegistryClient``: manifests, blobs, uploads and tags over the Distribution v2 API."""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Protocol
from urllib.parse import quote, urljoin, urlsplit

from geedocker import oci
from geedocker.digest import Digest
from geedocker.errors import (
    AuthenticationError,
    DigestError,
    GeeDockerError,
    ManifestError,
    NotFoundError,
    RegistryError,
    TransportError,
    VerificationError,
)
from geedocker.logger import get_logger
from geedocker.registry.auth import Authenticator, Scope
from geedocker.registry.config import RegistryConfig
from geedocker.registry.transport import ConnectionFailure, Response, TLSFailure, Transport, read_at_most
from geedocker.values import value

log = get_logger(__name__)

MAX_ERROR_BODY = 64 * 1024
MAX_TAGS_BODY = 4 * 1024 * 1024
MAX_TAG_PAGES = 100
MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_NOT_FOUND_CODES = {"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN", "BLOB_UPLOAD_UNKNOWN", "TAG_INVALID"}


@value
class FetchedManifest:
    """A manifest or index exactly as the registry sent it, with its verified digest."""

    data: bytes
    media_type: str
    digest: Digest


@value
class ManifestHead:
    digest: Digest
    media_type: str
    size: int


@value
class RegistryErrorDetail:
    code: str
    message: str


def parse_error_body(data: bytes) -> list[RegistryErrorDetail]:
    """The ``{"errors": [{"code", "message", "detail"}]}`` body of a registry error (lenient)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return []
    errs = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errs, list):
        return []
    out = []
    for e in errs[:10]:
        if isinstance(e, dict):
            out.append(RegistryErrorDetail(str(e.get("code") or "")[:100], str(e.get("message") or "")[:500]))
    return out


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


class BlobStream:
    """A blob being downloaded. ``offset`` is where its bytes start; ``resumed`` if Range was honoured."""

    def __init__(self, resp: Response, offset: int, resumed: bool) -> None:
        self._resp = resp
        self.offset = offset
        self.resumed = resumed
        cl = resp.headers.get("content-length", "")
        self.length: int | None = int(cl) if cl.isdigit() else None

    def read(self, n: int = -1) -> bytes:
        return self._resp.read(n)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._resp.close()

    def __enter__(self) -> BlobStream:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class Readable(Protocol):
    """What an upload reads: a file of the store, or any image's blob stream."""

    def read(self, n: int = -1, /) -> bytes: ...


def _read_exact(stream: Readable, n: int) -> bytes:
    chunks: list[bytes] = []
    left = n
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class RegistryClient:
    """A client for one registry host. Thread-safe; share it between parallel downloads."""

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

    # ------------------------------------------------------------------ plumbing

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
        try:
            body = resp.read_capped(MAX_ERROR_BODY, what)
        except RegistryError:
            body = b""
        finally:
            resp.close()
        details = parse_error_body(body)
        codes = {d.code for d in details}
        msg = "; ".join(f"{d.code}: {d.message}" if d.code else d.message for d in details if d.code or d.message)
        suffix = f" ({msg})" if msg else ""
        st = resp.status
        if st == 401:
            creds = self.auth.credentials
            ch = self.auth.challenge
            bearer = ch is not None and ch.scheme == "bearer"
            if creds is not None and bearer:
                # The token server accepted the user, but the token does not cover this repository.
                return AuthenticationError(
                    f"{self.host}: {what}: access denied for user {creds.username!r}: the repository does not "
                    f"exist or the user may not access it{suffix}"
                )
            if creds is not None:
                return AuthenticationError(
                    f"{self.host}: {what}: credentials for user {creds.username!r} were refused{suffix}"
                )
            if bearer:
                # An anonymous token that does not cover the repository: docker's wording.
                return AuthenticationError(
                    f"{self.host}: {what}: access denied: the repository does not exist or may require "
                    f"authentication; log in with 'geedocker login {self.host}'{suffix}"
                )
            return AuthenticationError(
                f"{self.host}: {what}: authentication required{suffix}; log in with 'geedocker login {self.host}'"
            )
        if st == 403:
            return AuthenticationError(f"{self.host}: {what}: access denied{suffix}")
        if st == 404 or codes & _NOT_FOUND_CODES:
            return NotFoundError(f"{what}: not found{suffix}")
        if st in RETRY_STATUSES or st >= 500:
            return TransportError(
                f"{self.host}: {what}: server error HTTP {st} after {self.config.retries + 1} attempts{suffix}"
            )
        return RegistryError(f"{self.host}: {what}: unexpected HTTP {st}{suffix}")

    def _ref(self, repo: str, ref: str) -> str:
        sep = "@" if ":" in ref else ":"
        return f"{self.host}/{repo}{sep}{ref}"

    # ------------------------------------------------------------------ API

    def ping(self) -> None:
        """``GET /v2/``, authenticating if asked: checks the registry is there and we may talk to it."""
        resp = self._request("GET", "/v2/", scopes=(), what="API version check")
        if resp.status != 200:
            raise self._error(resp, "API version check")
        resp.close()

    def get_manifest(self, repo: str, ref: str, accept: str = oci.ACCEPT_MANIFESTS) -> FetchedManifest:
        what = f"manifest {self._ref(repo, ref)}"
        want = _digest_or_none(ref)
        resp = self._request("GET", f"/v2/{repo}/manifests/{quote(ref, safe=':')}", scopes=[Scope.pull(repo)],
                             what=what, headers={"Accept": accept})
        if resp.status != 200:
            raise self._error(resp, what)
        try:
            data = resp.read_capped(oci.MAX_MANIFEST_BYTES, what)
        except RegistryError as e:
            raise ManifestError(f"{e}: manifests may be at most {oci.MAX_MANIFEST_BYTES} bytes") from e
        finally:
            resp.close()
        digest = Digest.of(data, want.algorithm if want else "sha256")
        if want is not None and digest != want:
            raise VerificationError(f"{what}: the registry sent content with digest {digest}")
        header = _digest_or_none(resp.headers.get("docker-content-digest", ""))
        if header is not None:
            check = digest if header.algorithm == digest.algorithm else Digest.of(data, header.algorithm)
            if check != header:
                raise VerificationError(
                    f"{what}: content digest {check} differs from the Docker-Content-Digest header {header}"
                )
        media_type = oci.detect_media_type(data, resp.headers.get("content-type"))
        if media_type in oci.SCHEMA1_TYPES:
            raise ManifestError(f"{what}: manifest schema 1 is deprecated and not supported; push the image again")
        return FetchedManifest(data, media_type, digest)

    def head_manifest(self, repo: str, ref: str, accept: str = oci.ACCEPT_MANIFESTS) -> ManifestHead | None:
        what = f"manifest {self._ref(repo, ref)}"
        resp = self._request("HEAD", f"/v2/{repo}/manifests/{quote(ref, safe=':')}", scopes=[Scope.pull(repo)],
                             what=what, headers={"Accept": accept})
        if resp.status == 404:
            resp.close()
            return None
        if resp.status != 200:
            raise self._error(resp, what)
        resp.close()
        digest = _digest_or_none(resp.headers.get("docker-content-digest", ""))
        size = resp.headers.get("content-length", "")
        media_type = resp.headers.get("content-type", "").split(";")[0].strip()
        if digest is None or not size.isdigit():
            # Some registries omit the digest on HEAD: fetch the manifest instead.
            m = self.get_manifest(repo, ref, accept)
            return ManifestHead(m.digest, m.media_type, len(m.data))
        return ManifestHead(digest, media_type, int(size))

    def open_blob(self, repo: str, digest: Digest, offset: int = 0) -> BlobStream:
        what = f"blob {self.host}/{repo}@{digest}"
        headers = {"Range": f"bytes={offset}-"} if offset > 0 else {}
        resp = self._request("GET", f"/v2/{repo}/blobs/{digest}", scopes=[Scope.pull(repo)], what=what,
                             headers=headers)
        if resp.status == 200:
            return BlobStream(resp, 0, False)
        if resp.status == 206 and offset > 0:
            m = re.match(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", resp.headers.get("content-range", ""))
            if not m or int(m.group(1)) != offset:
                resp.close()
                raise TransportError(f"{what}: asked for bytes from {offset}, got Content-Range "
                                     f"{resp.headers.get('content-range')!r}")
            return BlobStream(resp, offset, True)
        if resp.status == 416:
            resp.close()
            raise VerificationError(f"{what}: offset {offset} is beyond the end of the blob")
        raise self._error(resp, what)

    def get_blob_bytes(self, repo: str, digest: Digest, max_size: int) -> bytes:
        what = f"blob {self.host}/{repo}@{digest}"
        with self.open_blob(repo, digest) as stream:
            if stream.length is not None and stream.length > max_size:
                raise VerificationError(f"{what}: {stream.length} bytes is over the {max_size}-byte limit")
            data = read_at_most(stream.read, max_size)
        if data is None:
            raise VerificationError(f"{what}: more than the {max_size}-byte limit")
        got = Digest.of(data, digest.algorithm)
        if got != digest:
            raise VerificationError(f"{what}: digest mismatch: got {got}")
        return data

    def blob_exists(self, repo: str, digest: Digest) -> int | None:
        what = f"blob {self.host}/{repo}@{digest}"
        resp = self._request("HEAD", f"/v2/{repo}/blobs/{digest}", scopes=[Scope.pull(repo)], what=what)
        if resp.status == 404:
            resp.close()
            return None
        if resp.status != 200:
            raise self._error(resp, what)
        resp.close()
        size = resp.headers.get("content-length", "")
        return int(size) if size.isdigit() else 0

    def upload_blob(
        self, repo: str, digest: Digest, size: int, stream: Readable, mount_from: str | None = None
    ) -> bool:
        """Upload ``size`` bytes of ``stream`` as blob ``digest``; False when the registry already had it
        (nothing was read or sent), True when it was mounted from ``mount_from`` or uploaded."""
        what = f"blob upload {self.host}/{repo}@{digest}"
        scopes = [Scope.push(repo)]
        path = f"/v2/{repo}/blobs/uploads/"
        if mount_from and mount_from != repo:
            scopes.append(Scope.pull(mount_from))  # one token for the whole upload, mount included
            path += f"?mount={digest}&from={quote(mount_from, safe='/')}"
        if self._blob_exists_for_push(repo, digest, scopes):
            log.debug("%s: already there", what)
            return False
        resp = self._request("POST", path, scopes=scopes, what=what, headers={"Content-Length": "0"}, body=b"")
        if resp.status == 201 and mount_from:
            resp.close()
            log.debug("%s: mounted from %s", what, mount_from)
            return True
        if resp.status != 202:
            raise self._error(resp, what)
        resp.close()
        location = self._location(resp, what)
        if size <= self.config.chunk_size:
            data = _read_exact(stream, size)
            extra = stream.read(1)
            got = Digest.of(data, digest.algorithm)
            if len(data) != size or extra or got != digest:
                self._abort(location, scopes, what)
                raise VerificationError(f"{what}: the data read is not {size} bytes with digest {digest}")
            resp = self._request("PUT", _add_query(location, "digest", str(digest)), scopes=scopes, what=what,
                                 headers={"Content-Type": "application/octet-stream",
                                          "Content-Length": str(size)}, body=data)
        else:
            hasher = digest.hasher()
            sent = 0
            while sent < size:
                chunk = _read_exact(stream, min(self.config.chunk_size, size - sent))
                if not chunk:
                    break
                hasher.update(chunk)
                resp = self._request(
                    "PATCH", location, scopes=scopes, what=what, body=chunk, resend=False,
                    headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(chunk)),
                             "Content-Range": f"{sent}-{sent + len(chunk) - 1}"},
                )
                if resp.status != 202:
                    raise self._error(resp, what)
                resp.close()
                location = self._location(resp, what)
                sent += len(chunk)
            if sent != size or stream.read(1) or hasher.hexdigest() != digest.hex:
                self._abort(location, scopes, what)
                raise VerificationError(f"{what}: the data read is not {size} bytes with digest {digest}")
            resp = self._request("PUT", _add_query(location, "digest", str(digest)), scopes=scopes, what=what,
                                 headers={"Content-Length": "0"}, body=b"")
        if resp.status == 404 and self._blob_exists_for_push(repo, digest, scopes):
            resp.close()  # a retried PUT whose first try went through: the session is gone, the blob is there
            return True
        if resp.status not in (201, 204):
            raise self._error(resp, what)
        resp.close()
        return True

    def _blob_exists_for_push(self, repo: str, digest: Digest, scopes: list[Scope]) -> bool:
        what = f"blob {self.host}/{repo}@{digest}"
        resp = self._request("HEAD", f"/v2/{repo}/blobs/{digest}", scopes=scopes, what=what)
        resp.close()
        if resp.status == 200:
            return True
        if resp.status == 404:
            return False
        raise self._error(resp, what)

    def _location(self, resp: Response, what: str) -> str:
        loc = resp.headers.get("location")
        if not loc:
            raise RegistryError(f"{self.host}: {what}: the registry sent no upload Location")
        return urljoin(self._url("/v2/"), loc)

    def _abort(self, location: str, scopes: list[Scope], what: str) -> None:
        try:
            self._request("DELETE", location, scopes=scopes, what=what).close()
        except GeeDockerError as e:  # best effort: the registry expires abandoned uploads anyway
            log.debug("%s: cancelling the upload failed: %s", what, e)

    def put_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> Digest:
        what = f"manifest {self._ref(repo, ref)}"
        if len(data) > oci.MAX_MANIFEST_BYTES:
            raise ManifestError(f"{what}: {len(data)} bytes is over the {oci.MAX_MANIFEST_BYTES}-byte limit")
        resp = self._request("PUT", f"/v2/{repo}/manifests/{quote(ref, safe=':')}", scopes=[Scope.push(repo)],
                             what=what, headers={"Content-Type": media_type, "Content-Length": str(len(data))},
                             body=data)
        if resp.status not in (200, 201, 202):
            raise self._error(resp, what)
        resp.close()
        digest = Digest.of(data)
        header = _digest_or_none(resp.headers.get("docker-content-digest", ""))
        if header is not None and header.algorithm == digest.algorithm and header != digest:
            raise VerificationError(f"{what}: the registry stored digest {header}, we sent {digest}")
        return digest

    def list_tags(self, repo: str) -> list[str]:
        what = f"tags of {self.host}/{repo}"
        tags: list[str] = []
        url: str | None = self._url(f"/v2/{repo}/tags/list?n=1000")
        for _ in range(MAX_TAG_PAGES):
            if url is None:
                return tags
            resp = self._request("GET", url, scopes=[Scope.pull(repo)], what=what)
            if resp.status != 200:
                raise self._error(resp, what)
            try:
                data = resp.read_capped(MAX_TAGS_BODY, what)
            finally:
                resp.close()
            try:
                doc = json.loads(data)
            except (ValueError, UnicodeDecodeError) as e:
                raise RegistryError(f"{what}: the registry sent invalid JSON") from e
            page = doc.get("tags") if isinstance(doc, dict) else None
            if page is not None:
                if not isinstance(page, list):
                    raise RegistryError(f"{what}: 'tags' is not a list")
                tags.extend(str(t) for t in page)
            url = _next_link(resp.headers.get("link", ""), url)
        raise RegistryError(f"{what}: more than {MAX_TAG_PAGES} pages of tags")

    def close(self) -> None:
        if self._owns_transport:
            self._transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _digest_or_none(text: str) -> Digest | None:
    if ":" not in text:
        return None
    try:
        return Digest.parse(text.strip())
    except DigestError:
        return None


def _add_query(url: str, key: str, value: str) -> str:
    return url + ("&" if "?" in url else "?") + f"{key}={quote(value, safe=':')}"


def _next_link(header: str, base: str) -> str | None:
    m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', header)
    return urljoin(base, m.group(1)) if m else None
