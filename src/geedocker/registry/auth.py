"""Registry authentication: WWW-Authenticate challenges, bearer tokens, basic credentials.

The flow (Docker's token spec): ``GET /v2/`` answers 401 with ``WWW-Authenticate: Bearer realm=...,
service=...``. For each operation the client asks the realm for a token covering the scopes it needs
(``repository:NAME:pull``, ``repository:NAME:pull,push`` for pushes, plus ``repository:SRC:pull`` for a
cross-repository mount), anonymously or with basic credentials, and caches it per scope until it expires.
A 401 with a token we sent drops that token and fetches a fresh one once. ``Basic`` challenges get the
stored credentials directly.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from geedocker.errors import AuthenticationError, RegistryError
from geedocker.logger import get_logger
from geedocker.registry.credentials import Credentials, CredentialSource
from geedocker.registry.transport import Response
from geedocker.values import field, value

log = get_logger(__name__)

MAX_TOKEN_BODY = 1024 * 1024
DEFAULT_EXPIRES_IN = 60


@value
class Challenge:
    """One challenge of a WWW-Authenticate header: ``scheme`` (lower-case) and its parameters."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str:
        return self.params.get(key, "")


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t":
        i += 1
    return i


def _token(s: str, i: int) -> tuple[str, int]:
    j = i
    while j < len(s) and s[j] not in ' \t,="':
        j += 1
    return s[i:j], j


def _quoted(s: str, i: int) -> tuple[str, int]:
    # s[i] == '"'
    out: list[str] = []
    i += 1
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), i


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a WWW-Authenticate value into its challenges (RFC 7235, lenient like Docker's parser)."""
    out: list[Challenge] = []
    s = header or ""
    i = 0
    current: tuple[str, dict[str, str]] | None = None
    while i < len(s):
        i = _skip_ws(s, i)
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        tok, j = _token(s, i)
        if not tok:
            i = j + 1  # stray character
            continue
        k = _skip_ws(s, j)
        if k < len(s) and s[k] == "=" and current is not None:
            k = _skip_ws(s, k + 1)
            if k < len(s) and s[k] == '"':
                value, k = _quoted(s, k)
            else:
                value, k = _token(s, k)
            current[1][tok.lower()] = value
            i = k
            continue
        if k < len(s) and s[k] == "=" and current is None:
            i = k + 1  # parameter with no scheme: ignore
            continue
        if current is not None:
            out.append(Challenge(current[0], current[1]))
        current = (tok.lower(), {})
        i = j
    if current is not None:
        out.append(Challenge(current[0], current[1]))
    return out


@value(order=True)
class Scope:
    """A token scope such as ``repository:library/busybox:pull,push``."""

    type: str
    name: str
    actions: tuple[str, ...]

    @classmethod
    def pull(cls, repo: str) -> Scope:
        return cls("repository", repo, ("pull",))

    @classmethod
    def push(cls, repo: str) -> Scope:
        return cls("repository", repo, ("pull", "push"))

    @classmethod
    def parse(cls, text: str) -> Scope:
        typ, _, rest = text.partition(":")
        name, _, actions = rest.rpartition(":")
        if not typ or not name:
            raise RegistryError(f"invalid token scope {text!r}")
        return cls(typ, name, tuple(sorted(set(a for a in actions.split(",") if a))))

    def covers(self, other: Scope) -> bool:
        return self.type == other.type and self.name == other.name and set(other.actions) <= set(self.actions)

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def merge_scopes(scopes: Iterable[Scope]) -> tuple[Scope, ...]:
    """One scope per (type, name) with the union of their actions, sorted."""
    acc: dict[tuple[str, str], set[str]] = {}
    for s in scopes:
        acc.setdefault((s.type, s.name), set()).update(s.actions)
    return tuple(sorted(Scope(t, n, tuple(sorted(a))) for (t, n), a in acc.items()))


@value
class Token:
    value: str
    scopes: tuple[Scope, ...]
    expires_at: float

    def valid(self, now: float) -> bool:
        return now < self.expires_at

    def covers(self, scopes: Iterable[Scope]) -> bool:
        return all(any(mine.covers(s) for mine in self.scopes) for s in scopes)


def parse_token_response(data: bytes, now: float, scopes: tuple[Scope, ...], realm: str) -> Token:
    """``{"token": ...}`` or ``{"access_token": ...}`` with an optional ``expires_in`` (default 60 s)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise AuthenticationError(f"token server {realm} sent a response that is not JSON") from e
    if not isinstance(doc, dict):
        raise AuthenticationError(f"token server {realm} sent a response that is not a JSON object")
    value = doc.get("token") or doc.get("access_token")
    if not isinstance(value, str) or not value:
        raise AuthenticationError(f"token server {realm} sent no token")
    expires_in = doc.get("expires_in")
    if not isinstance(expires_in, (int, float)) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN
    # Refresh a little before the server's deadline (10 %, at most 10 s) to absorb clock and network delay.
    margin = min(10.0, float(expires_in) * 0.1)
    return Token(value, scopes, now + float(expires_in) - margin)


def basic_header(creds: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()


# fetch(url, headers) -> Response: a GET through the client's transport, with its retries.
TokenFetcher = Callable[[str, Mapping[str, str]], Response]


class Authenticator:
    """Per-registry authentication state: the challenge, the credentials, and a token cache."""

    def __init__(
        self,
        host: str,
        credentials: CredentialSource,
        fetch: TokenFetcher,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self._credentials = credentials
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self.challenge: Challenge | None = None
        self._tokens: list[Token] = []
        self._creds_loaded = False
        self._creds: Credentials | None = None
        self.token_requests = 0

    @property
    def credentials(self) -> Credentials | None:
        if not self._creds_loaded:
            self._creds = self._credentials.lookup(self.host)
            self._creds_loaded = True
        return self._creds

    def set_challenge_from(self, header: str | None) -> None:
        """Remember the Bearer (preferred) or Basic challenge of a 401's WWW-Authenticate header."""
        chosen = pick_challenge(parse_challenges(header or ""))
        if chosen is not None:
            with self._lock:
                if self.challenge != chosen:
                    log.debug("%s: auth challenge %s %s", self.host, chosen.scheme, dict(chosen.params))
                self.challenge = chosen

    def authorization(self, scopes: Iterable[Scope]) -> str | None:
        """The Authorization header value for a request needing ``scopes`` (None: send none)."""
        ch = self.challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            creds = self.credentials
            return basic_header(creds) if creds else None
        if ch.scheme != "bearer":
            return None
        want = merge_scopes(scopes)
        now = self._clock()
        with self._lock:
            self._tokens = [t for t in self._tokens if t.valid(now)]
            for t in self._tokens:
                if t.covers(want):
                    return "Bearer " + t.value
        token = self._request_token(ch, want)
        with self._lock:
            self._tokens.append(token)
        return "Bearer " + token.value

    def token_for(self, scopes: Iterable[Scope]) -> Token | None:
        """The token this authenticator holds for ``scopes`` (fetched by ``authorization``), if still valid."""
        want = merge_scopes(scopes)
        now = self._clock()
        with self._lock:
            return next((t for t in self._tokens if t.valid(now) and t.covers(want)), None)

    def on_unauthorized(self, header: str | None, sent: str | None) -> bool:
        """A 401 arrived for a request that carried ``sent``: True if trying again once may help."""
        before = self.challenge
        self.set_challenge_from(header)
        ch = self.challenge
        if ch is None:
            return False
        if sent is None:
            # First contact: now we know how to authenticate (basic needs credentials to be worth a retry).
            return ch.scheme == "bearer" or (ch.scheme == "basic" and self.credentials is not None)
        if sent.startswith("Bearer "):
            value = sent[len("Bearer ") :]
            with self._lock:
                self._tokens = [t for t in self._tokens if t.value != value]
            return True  # expired or revoked, or the scopes were not enough: ask for a fresh token
        return before != ch  # basic credentials refused: only retry if the challenge changed

    def _request_token(self, ch: Challenge, scopes: tuple[Scope, ...]) -> Token:
        from urllib.parse import urlencode, urlsplit  # only for tokens: a cached pull from an open registry needs none

        realm = ch.get("realm")
        if not realm:
            raise AuthenticationError(f"{self.host}: bearer challenge without a realm")
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https"):
            raise AuthenticationError(f"{self.host}: bearer realm {realm!r} is not an http(s) URL")
        query: list[tuple[str, str]] = []
        if ch.get("service"):
            query.append(("service", ch.get("service")))
        for s in scopes:
            query.append(("scope", str(s)))
        url = realm + ("&" if parts.query else "?") + urlencode(query) if query else realm
        headers: dict[str, str] = {"Accept": "application/json"}
        creds = self.credentials
        if creds is not None:
            headers["Authorization"] = basic_header(creds)
        self.token_requests += 1
        now = self._clock()
        resp = self._fetch(url, headers)
        try:
            if resp.status in (401, 403):
                who = f"user {creds.username!r}" if creds else "anonymous access"
                raise AuthenticationError(
                    f"{self.host}: token server {realm} refused {who} (HTTP {resp.status})"
                    + ("" if creds else f"; log in with 'geedocker login {self.host}'")
                )
            if resp.status != 200:
                raise AuthenticationError(f"{self.host}: token server {realm} answered HTTP {resp.status}")
            data = resp.read_capped(MAX_TOKEN_BODY, f"token from {realm}")
        finally:
            resp.close()
        return parse_token_response(data, now, scopes, realm)


def pick_challenge(challenges: list[Challenge]) -> Challenge | None:
    for scheme in ("bearer", "basic"):
        for c in challenges:
            if c.scheme == scheme:
                return c
    return None
