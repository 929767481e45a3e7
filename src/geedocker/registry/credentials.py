"""Registry credentials in docker's ``config.json`` (and podman's ``auth.json``) format.

``{"auths": {"host:port": {"auth": base64("user:password")}}}``. ``$REGISTRY_AUTH_FILE`` (podman) is read
first, then ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``). Docker Hub's key is
``https://index.docker.io/v1/``. Credential helpers (``credsStore``/``credHelpers``) are not run: a host
that only has a helper is reported in the log and treated as anonymous.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from geedocker.errors import GeeDockerError
from geedocker.logger import get_logger
from geedocker.values import value

log = get_logger(__name__)

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_NAMES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
MAX_CONFIG_FILE = 4 * 1024 * 1024


class CredentialsFileError(GeeDockerError):
    """A docker config or auth file that cannot be read or written."""


@value
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print the password
        return f"Credentials(username={self.username!r}, password=***)"


class CredentialSource(Protocol):
    def lookup(self, host: str) -> Credentials | None: ...


class StaticCredentials:
    """Credentials from a mapping of host to Credentials (tests, ``login`` before saving)."""

    def __init__(self, by_host: Mapping[str, Credentials]) -> None:
        self._by_host = {normalize_host(k): v for k, v in by_host.items()}

    def lookup(self, host: str) -> Credentials | None:
        return self._by_host.get(normalize_host(host))


def normalize_host(key: str) -> str:
    """A config key or registry host as a bare ``host[:port]``; Docker Hub's names become docker.io."""
    k = key.strip()
    for prefix in ("https://", "http://"):
        if k.startswith(prefix):
            k = k[len(prefix) :]
    k = k.split("/", 1)[0].lower()
    return "docker.io" if k in _HUB_NAMES else k


def config_key(host: str) -> str:
    """The key docker writes for ``host``."""
    h = normalize_host(host)
    return DOCKER_HUB_KEY if h == "docker.io" else h


def _decode_auth(key: str, entry: Any, path: Path) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, sep, password = base64.b64decode(auth, validate=False).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as e:
            raise CredentialsFileError(f"{path}: entry {key!r} has an invalid auth value: {e}") from e
        if not sep:
            raise CredentialsFileError(f"{path}: entry {key!r}: auth is not base64 of user:password")
        return Credentials(user, password)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str) and name:
        return Credentials(name, secret)
    if entry.get("identitytoken"):
        log.warning("%s: identity tokens (for %s) are not supported; ignoring them", path, key)
    return None


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_FILE + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CredentialsFileError(f"cannot read {path}: {e}") from e
    if len(data) > MAX_CONFIG_FILE:
        raise CredentialsFileError(f"{path} is larger than {MAX_CONFIG_FILE} bytes")
    if not data.strip():
        return {}
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise CredentialsFileError(f"{path}: invalid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise CredentialsFileError(f"{path}: expected a JSON object")
    return doc


class DockerConfigStore:
    """Reads credentials from the auth files in order (first match wins); writes to ``write_path``."""

    def __init__(self, paths: list[Path], write_path: Path) -> None:
        self.paths = paths
        self.write_path = write_path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DockerConfigStore:
        env = os.environ if env is None else env
        docker_dir = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else Path.home() / ".docker"
        docker_file = docker_dir / "config.json"
        paths: list[Path] = []
        auth_file = env.get("REGISTRY_AUTH_FILE")
        if auth_file:
            paths.append(Path(auth_file))
        paths.append(docker_file)
        return cls(paths, Path(auth_file) if auth_file else docker_file)

    def lookup(self, host: str) -> Credentials | None:
        want = normalize_host(host)
        for path in self.paths:
            doc = _read(path)
            if doc is None:
                continue
            auths = doc.get("auths") or {}
            if isinstance(auths, dict):
                for key, entry in auths.items():
                    if normalize_host(str(key)) == want:
                        creds = _decode_auth(str(key), entry, path)
                        if creds is not None:
                            return creds
            helpers = doc.get("credHelpers") or {}
            if (isinstance(helpers, dict) and any(normalize_host(str(k)) == want for k in helpers)) or doc.get(
                "credsStore"
            ):
                log.info("%s: credential helpers are not supported; no stored credentials used for %s", path, host)
        return None

    def save(self, host: str, creds: Credentials) -> Path:
        """Store ``creds`` for ``host`` (replacing any entry under another spelling), atomically, mode 0600."""
        doc = _read(self.write_path) or {}
        auths = doc.get("auths")
        if not isinstance(auths, dict):
            auths = {}
        want = normalize_host(host)
        for key in [k for k in auths if normalize_host(str(k)) == want]:
            del auths[key]
        token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        auths[config_key(host)] = {"auth": token}
        doc["auths"] = auths
        self._write(doc)
        return self.write_path

    def remove(self, host: str) -> bool:
        """Forget the credentials for ``host`` in every file read; True if any were there."""
        want = normalize_host(host)
        removed = False
        for path in self.paths:
            doc = _read(path)
            if not doc or not isinstance(doc.get("auths"), dict):
                continue
            keys = [k for k in doc["auths"] if normalize_host(str(k)) == want]
            if keys:
                for k in keys:
                    del doc["auths"][k]
                self._write(doc, path)
                removed = True
        return removed

    def _write(self, doc: dict[str, Any], path: Path | None = None) -> None:
        path = path or self.write_path
        import tempfile  # only to write: a pull reads the file

        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".auth-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(json.dumps(doc, indent="\t").encode() + b"\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
