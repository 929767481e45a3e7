"""An in-memory Distribution registry behind the ``Transport`` protocol: no sockets, no server.

``FakeRegistry`` serves /v2/, manifests, blobs (with Range), uploads (POST/PATCH/PUT, mounts) and tags,
with optional basic or bearer auth (its token server answers at ``https://auth.fake/token``).
``faults`` is a list of ``Fault`` values consumed in order by matching requests.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from geedocker import oci
from geedocker.registry.transport import ConnectionFailure, Response, TLSFailure

TOKEN_REALM = "https://auth.fake/token"
OCI_M = oci.MediaType.OCI_MANIFEST.value


def oci_manifest(config_digest: str = "sha256:" + "a" * 64) -> bytes:
    """An OCI image manifest with no layers, for the registry's manifest and tag calls."""
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_M,
                       "config": {"mediaType": oci.MediaType.OCI_CONFIG.value, "digest": config_digest, "size": 2},
                       "layers": []}).encode()


class _Body:
    def __init__(self, data: bytes, break_after: int | None = None) -> None:
        self._buf = io.BytesIO(data)
        self._break_after = break_after
        self.closed = False

    def read(self, n: int = -1, /) -> bytes:
        if self._break_after is not None:
            left = self._break_after - self._buf.tell()
            if left <= 0:
                raise ConnectionFailure("connection reset by peer (fake)")
            n = left if n < 0 else min(n, left)
        return self._buf.read(n)

    def close(self) -> None:
        self.closed = True


@dataclass
class Fault:
    """For requests matching ``method`` and ``path`` (regex), ``times`` times: an injected failure."""

    method: str
    path: str
    kind: str  # "status", "reset" (before any response), "break" (body breaks after break_after bytes),
    #            "ignore_range", "corrupt"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    break_after: int = 0
    times: int = 1


@dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


class FakeRegistry:
    def __init__(self, host: str = "reg.fake", *, auth: str = "none", users: Mapping[str, str] | None = None,
                 token_ttl: int = 300, scheme: str = "https") -> None:
        self.host = host
        self.auth = auth  # "none" | "basic" | "bearer"
        self.users = dict(users or {})
        self.anonymous_pull = True
        self.token_ttl = token_ttl
        self.scheme = scheme  # which scheme the "server" speaks: https requests to an http server fail
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}  # (repo, tag or digest)
        self.repo_blobs: dict[str, set[str]] = {}
        self.uploads: dict[str, bytearray] = {}
        self.tokens: dict[str, tuple[set[str], bool]] = {}  # token -> (granted scopes, valid)
        self.faults: list[Fault] = []
        self.requests: list[Sent] = []
        self.support_range = True
        self.send_digest_header = True
        self.override_manifest_body: bytes | None = None
        self.tag_page_size = 0
        self._lock = threading.RLock()  # pulls download layers in parallel threads

    # -- test helpers
    def add_blob(self, repo: str, data: bytes) -> str:
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[d] = data
        self.repo_blobs.setdefault(repo, set()).add(d)
        return d

    def add_manifest(self, repo: str, tag: str | None, data: bytes, media_type: str) -> str:
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        self.manifests[(repo, d)] = (data, media_type)
        if tag:
            self.manifests[(repo, tag)] = (data, media_type)
        return d

    def expire_all_tokens(self) -> None:
        for t in self.tokens:
            self.tokens[t] = (self.tokens[t][0], False)

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for r in self.requests if r.method == method and re.search(pattern, r.url))

    # -- Transport
    def close(self) -> None:
        pass

    def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> Response:
        with self._lock:  # bodies are built in memory here and read outside the lock
            return self._send(method, url, headers, body)

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Response:
        self.requests.append(Sent(method, url, dict(headers), body))
        parts = urlsplit(url)
        for f in self.faults:
            if f.times > 0 and f.method == method and re.search(f.path, parts.path):
                if f.kind == "status":
                    f.times -= 1
                    return self._resp(f.status, url, b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}',
                                      {"Content-Type": "application/json", **f.headers})
                if f.kind == "reset":
                    f.times -= 1
                    raise ConnectionFailure("connection reset by peer (fake)")
        if parts.netloc == "auth.fake":
            return self._token(url, headers)
        if parts.netloc != self.host:
            raise ConnectionFailure(f"no route to {parts.netloc} (fake)", refused=True)
        if parts.scheme != self.scheme:
            if self.scheme == "http":
                raise TLSFailure(f"{self.host}: server gave HTTP response to HTTPS client", plain_http=True)
            raise ConnectionFailure(f"{self.host}: connection refused (fake)", refused=True)
        denied = self._check_auth(method, parts.path, parts.query, headers, url)
        if denied is not None:
            return denied
        return self._route(method, url, parts.path, parse_qs(parts.query), headers, body)

    # -- internals
    def _resp(self, status: int, url: str, data: bytes = b"", headers: Mapping[str, str] | None = None,
              break_after: int | None = None) -> Response:
        h = {"Content-Length": str(len(data)), **(headers or {})}
        return Response(status, h, _Body(data, break_after), url)

    def _challenge(self, scope: str | None) -> str:
        if self.auth == "basic":
            return 'Basic realm="fake"'
        s = f'Bearer realm="{TOKEN_REALM}",service="fake-service"'
        return s + (f',scope="{scope}"' if scope else "")

    def _needed_scope(self, method: str, path: str, query: str) -> set[str]:
        m = re.match(r"^/v2/(.+?)/(manifests|blobs|tags)/", path)
        if not m:
            return set()
        repo = m.group(1)
        if method in ("GET", "HEAD"):
            need = {f"repository:{repo}:pull"}
        else:
            need = {f"repository:{repo}:pull", f"repository:{repo}:push"}
        q = parse_qs(query)
        if "from" in q:
            need.add(f"repository:{q['from'][0]}:pull")
        return need

    def _check_auth(self, method: str, path: str, query: str, headers: Mapping[str, str],
                    url: str = "") -> Response | None:
        if self.auth == "none":
            return None
        authz = headers.get("Authorization", "")
        need = self._needed_scope(method, path, query)
        scope_str = " ".join(sorted(need)) or None
        if self.auth == "basic":
            if authz.startswith("Basic "):
                user, _, pw = base64.b64decode(authz[6:]).decode().partition(":")
                if self.users.get(user) == pw:
                    return None
            return self._resp(401, url or path,
                              b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                              {"WWW-Authenticate": self._challenge(None)})
        if authz.startswith("Bearer "):
            granted, valid = self.tokens.get(authz[7:], (set(), False))
            if valid and need <= granted:
                return None
        return self._resp(401, url or path,
                          b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                          {"WWW-Authenticate": self._challenge(scope_str.split(" ")[0] if scope_str else None)})

    def _token(self, url: str, headers: Mapping[str, str]) -> Response:
        q = parse_qs(urlsplit(url).query)
        user = None
        authz = headers.get("Authorization", "")
        if authz.startswith("Basic "):
            user, _, pw = base64.b64decode(authz[6:]).decode().partition(":")
            if self.users.get(user) != pw:
                return self._resp(401, url, b'{"details":"bad credentials"}')
        granted: set[str] = set()
        for scope in q.get("scope", []):
            typ, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            for a in actions.split(","):
                if user is not None or (a == "pull" and self.anonymous_pull):
                    granted.add(f"{typ}:{name}:{a}")
        tok = uuid.uuid4().hex
        self.tokens[tok] = (granted, True)
        return self._resp(200, url, json.dumps({"token": tok, "expires_in": self.token_ttl}).encode(),
                          {"Content-Type": "application/json"})

    def _err(self, status: int, url: str, code: str, msg: str) -> Response:
        return self._resp(status, url, json.dumps({"errors": [{"code": code, "message": msg}]}).encode(),
                          {"Content-Type": "application/json"})

    def _route(self, method: str, url: str, path: str, q: dict[str, list[str]], headers: Mapping[str, str],
               body: bytes | None) -> Response:
        if path == "/v2/":
            return self._resp(200, url, b"{}")
        m = re.match(r"^/v2/(.+?)/manifests/([^/]+)$", path)
        if m:
            return self._manifest(method, url, m.group(1), m.group(2), headers, body)
        m = re.match(r"^/v2/(.+?)/blobs/uploads/([^/]*)$", path)
        if m:
            return self._upload(method, url, m.group(1), m.group(2), q, headers, body)
        m = re.match(r"^/v2/(.+?)/blobs/(sha256:[0-9a-f]{64})$", path)
        if m:
            return self._blob(method, url, m.group(1), m.group(2), headers)
        m = re.match(r"^/v2/(.+?)/tags/list$", path)
        if m:
            repo = m.group(1)
            tags = sorted({t for (r, t) in self.manifests if r == repo and not t.startswith("sha256:")})
            last = q.get("last", [""])[0]
            tags = [t for t in tags if t > last]
            hdrs = {}
            if self.tag_page_size and len(tags) > self.tag_page_size:
                tags = tags[: self.tag_page_size]
                hdrs["Link"] = f'</v2/{repo}/tags/list?n={self.tag_page_size}&last={tags[-1]}>; rel="next"'
            return self._resp(200, url, json.dumps({"name": repo, "tags": tags}).encode(), hdrs)
        return self._err(404, url, "NOT_FOUND", "no route")

    def _manifest(self, method: str, url: str, repo: str, ref: str, headers: Mapping[str, str],
                  body: bytes | None) -> Response:
        if method == "PUT":
            assert body is not None
            mt = headers.get("Content-Type", "")
            d = self.add_manifest(repo, None if ref.startswith("sha256:") else ref, body, mt)
            return self._resp(201, url, b"", {"Docker-Content-Digest": d, "Location": f"/v2/{repo}/manifests/{d}"})
        if (repo, ref) not in self.manifests:
            return self._err(404, url, "MANIFEST_UNKNOWN", f"manifest unknown: {ref}")
        data, mt = self.manifests[(repo, ref)]
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        if self.override_manifest_body is not None:
            data = self.override_manifest_body
        h = {"Content-Type": mt}
        if self.send_digest_header:
            h["Docker-Content-Digest"] = d
        if method == "HEAD":
            return Response(200, {"Content-Length": str(len(data)), **h}, _Body(b""), url)
        return self._resp(200, url, data, h)

    def _blob(self, method: str, url: str, repo: str, digest: str, headers: Mapping[str, str]) -> Response:
        if digest not in self.repo_blobs.get(repo, set()):
            return self._err(404, url, "BLOB_UNKNOWN", f"blob unknown: {digest}")
        data = self.blobs[digest]
        if method == "HEAD":
            return Response(200, {"Content-Length": str(len(data)), "Docker-Content-Digest": digest}, _Body(b""), url)
        break_after = None
        corrupt = False
        ignore_range = not self.support_range
        for f in self.faults:
            if f.times > 0 and f.method == method and re.search(f.path, urlsplit(url).path):
                if f.kind == "break":
                    break_after = f.break_after
                    f.times -= 1
                    break
                if f.kind == "ignore_range" and "Range" in headers:
                    ignore_range = True
                    f.times -= 1
                    break
                if f.kind == "corrupt":
                    corrupt = True
                    f.times -= 1
                    break
        if corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        rng = headers.get("Range")
        if rng and not ignore_range:
            start = int(re.match(r"bytes=(\d+)-", rng).group(1))  # type: ignore[union-attr]
            if start >= len(data):
                return self._err(416, url, "RANGE_INVALID", "range not satisfiable")
            part = data[start:]
            return self._resp(206, url, part, {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"},
                              break_after)
        return self._resp(200, url, data, {"Docker-Content-Digest": digest}, break_after)

    def _upload(self, method: str, url: str, repo: str, uid: str, q: dict[str, list[str]],
                headers: Mapping[str, str], body: bytes | None) -> Response:
        if method == "POST":
            if "mount" in q and "from" in q:
                d = q["mount"][0]
                if d in self.repo_blobs.get(q["from"][0], set()):
                    self.repo_blobs.setdefault(repo, set()).add(d)
                    return self._resp(201, url, b"", {"Docker-Content-Digest": d})
            uid = uuid.uuid4().hex
            self.uploads[uid] = bytearray()
            return self._resp(202, url, b"", {"Location": f"/v2/{repo}/blobs/uploads/{uid}?_state=x",
                                              "Range": "0-0"})
        if uid not in self.uploads:
            return self._err(404, url, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
        if method == "PATCH":
            buf = self.uploads[uid]
            cr = headers.get("Content-Range")
            if cr is not None and int(cr.split("-")[0]) != len(buf):
                return self._err(416, url, "BLOB_UPLOAD_INVALID", "bad range")
            buf.extend(body or b"")
            return self._resp(202, url, b"", {"Location": f"/v2/{repo}/blobs/uploads/{uid}?_state=y",
                                              "Range": f"0-{len(buf) - 1}"})
        if method == "PUT":
            buf = self.uploads.pop(uid)
            buf.extend(body or b"")
            d = q.get("digest", [""])[0]
            if "sha256:" + hashlib.sha256(buf).hexdigest() != d:
                return self._err(400, url, "DIGEST_INVALID", "digest mismatch")
            self.blobs[d] = bytes(buf)
            self.repo_blobs.setdefault(repo, set()).add(d)
            return self._resp(201, url, b"", {"Docker-Content-Digest": d})
        if method == "DELETE":
            self.uploads.pop(uid, None)
            return self._resp(204, url)
        return self._err(405, url, "UNSUPPORTED", "method")
