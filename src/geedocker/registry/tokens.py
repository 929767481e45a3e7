"""Bearer tokens kept between commands, so that a cached pull from a registry with token auth is one request.

    $RUN/registry-tokens.json    (0600, in a directory only its owner may write to)
    {"version": 1, "tokens": [{"host": "registry.example", "scope": "repository:library/busybox:pull",
                               "user": "", "scheme": "https", "token": "...", "expires": 1767225600.0}]}

A token is kept with what it was given for: the registry, the scope, the user whose credentials fetched it
("" for anonymous), and the scheme it went out on; it is handed out only for the same four, and only until it
expires (the token server's ``expires_in``, less the margin ``auth.parse_token_response`` takes, in wall-clock
time). So logging in or out, or another user's credentials, never reuse it, and a token never leaves for another
registry or goes out in clear text when it was fetched for TLS. A registry that refuses a kept token (revoked
early) makes the caller ``forget`` it and fetch a fresh one. $RUN is memory-backed where it is the default
(/run): the tokens go with a reboot. Writes replace the file atomically; two commands writing at once may lose
one's token, which costs only a token request later.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path

MAX_FILE = 1024 * 1024
MAX_TOKENS = 200  # the file stays small: the soonest to expire go first


class TokenCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _safe_dir(self) -> bool:
        """The directory is ours and nobody else may write to it (else tokens are neither read nor written)."""
        try:
            st = os.stat(self.path.parent)
        except OSError:
            return False
        return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022

    def _load(self) -> list[dict[str, object]]:
        if not self._safe_dir():
            return []
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            return []
        try:
            st = os.fstat(fd)
            if st.st_uid != os.geteuid() or st.st_mode & 0o077 or not stat.S_ISREG(st.st_mode):
                return []  # not written by us as we write it: not trusted
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(MAX_FILE + 1)
        finally:
            os.close(fd)
        try:
            doc = json.loads(data) if len(data) <= MAX_FILE else {}
        except ValueError:
            return []
        tokens = doc.get("tokens") if isinstance(doc, dict) else None
        return [t for t in tokens if isinstance(t, dict)] if isinstance(tokens, list) else []

    def get(self, host: str, scope: str, user: str, scheme: str, now: float) -> str | None:
        """The kept token for exactly these, if it has not expired."""
        for t in self._load():
            if (t.get("host"), t.get("scope"), t.get("user"), t.get("scheme")) == (host, scope, user, scheme):
                expires, token = t.get("expires"), t.get("token")
                if isinstance(expires, (int, float)) and now < expires and isinstance(token, str) and token:
                    return token
        return None

    def put(self, host: str, scope: str, user: str, scheme: str, token: str, expires: float, now: float) -> None:
        entry = {"host": host, "scope": scope, "user": user, "scheme": scheme, "token": token, "expires": expires}
        self._save(entry, host, scope, user, scheme, now)

    def forget(self, host: str, scope: str, user: str, scheme: str, now: float) -> None:
        self._save(None, host, scope, user, scheme, now)

    def _save(self, entry: dict[str, object] | None, host: str, scope: str, user: str, scheme: str,
              now: float) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self._safe_dir():
            return
        key = (host, scope, user, scheme)
        kept = [t for t in self._load()
                if (t.get("host"), t.get("scope"), t.get("user"), t.get("scheme")) != key
                and isinstance(t.get("expires"), (int, float)) and now < t["expires"]]  # type: ignore[operator]
        if entry is not None:
            kept.append(entry)
        kept.sort(key=lambda t: -t["expires"])  # type: ignore[operator]
        data = json.dumps({"version": 1, "tokens": kept[:MAX_TOKENS]}).encode()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            try:
                os.fchmod(fd, 0o600)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
