"""Image references with Docker's defaults.

``busybox`` means ``docker.io/library/busybox:latest``; ``host:5000/team/app:1.2`` names its registry;
a reference may carry a tag, a digest, or both (``app:1.2@sha256:...``: the digest wins when pulling).
"""

from __future__ import annotations

import re

from geedocker.digest import Digest
from geedocker.errors import DigestError, InvalidReference
from geedocker.values import value

DEFAULT_DOMAIN = "docker.io"
DEFAULT_TAG = "latest"
LEGACY_DOMAINS = {"index.docker.io": "docker.io", "registry-1.docker.io": "docker.io"}
DOCKER_HUB_API = "registry-1.docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DOMAIN_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$"
)
_MAX_NAME = 255


@value
class Reference:
    """A fully qualified image reference."""

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    @property
    def repository(self) -> str:
        """``domain/path``, the name docker shows in ``images``' REPOSITORY column."""
        return f"{self.domain}/{self.path}"

    @property
    def registry_host(self) -> str:
        """The host (and port) to talk HTTP to: Docker Hub's API lives on another name."""
        return DOCKER_HUB_API if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def identifier(self) -> str:
        """What to ask the registry's manifest endpoint for: the digest if any, else the tag."""
        if self.digest is not None:
            return str(self.digest)
        return self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)

    def familiar(self) -> str:
        """The short form docker prints: ``busybox:latest``, ``localhost:5000/app:1``."""
        name = self.repository
        if self.domain == DEFAULT_DOMAIN:
            name = self.path.removeprefix("library/")
        return name + self._suffix()

    def _suffix(self) -> str:
        out = ""
        if self.tag is not None:
            out += f":{self.tag}"
        if self.digest is not None:
            out += f"@{self.digest}"
        return out

    def __str__(self) -> str:
        return self.repository + self._suffix()


def parse(text: str, *, default_tag: bool = True) -> Reference:
    """Parse ``text`` with docker's normalization; raise InvalidReference with the reason."""
    original = text
    if not text or text != text.strip():
        raise InvalidReference(f"invalid reference format: {original!r} is empty or has spaces")
    digest: Digest | None = None
    if "@" in text:
        text, _, dig = text.partition("@")
        try:
            digest = Digest.parse(dig)
        except DigestError as e:
            raise InvalidReference(f"invalid reference format: {original!r}: {e}") from e
    tag: str | None = None
    last = text.rfind(":")
    if last > text.rfind("/"):
        text, tag = text[:last], text[last + 1 :]
        if not _TAG_RE.match(tag):
            raise InvalidReference(f"invalid reference format: {original!r}: bad tag {tag!r}")
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, rest
        if not _DOMAIN_RE.match(domain):
            raise InvalidReference(f"invalid reference format: {original!r}: bad registry {domain!r}")
    else:
        domain, path = DEFAULT_DOMAIN, text
    domain = LEGACY_DOMAINS.get(domain, domain)
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if path != path.lower():
        raise InvalidReference(
            f"invalid reference format: {original!r}: repository name must be lowercase"
        )
    if not _PATH_RE.match(path):
        raise InvalidReference(f"invalid reference format: {original!r}: bad repository name {path!r}")
    if len(domain) + 1 + len(path) > _MAX_NAME:
        raise InvalidReference(f"invalid reference format: {original!r}: name longer than {_MAX_NAME}")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def looks_like_id(text: str) -> bool:
    """True for a (short or full) hex image/container ID, optionally with ``sha256:``."""
    t = text.removeprefix("sha256:")
    return 1 <= len(t) <= 64 and re.fullmatch(r"[0-9a-f]+", t) is not None
