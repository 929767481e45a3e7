"""``RegistryClient``: manifests, blobs, uploads and tags over the Distribution v2 API.

The client is its parts put together: each API family lives in the module named after it, over the
``RegistrySession`` (registry/session.py) that sends every request. This module adds the version check and
the client's life (close, context manager).
"""

from __future__ import annotations

from types import TracebackType

from geedocker.registry.blobs import BlobRequests
from geedocker.registry.manifests import ManifestRequests
from geedocker.registry.tags import TagRequests
from geedocker.registry.uploads import UploadRequests


class RegistryClient(ManifestRequests, BlobRequests, UploadRequests, TagRequests):
    """A client for one registry host. Thread-safe; share it between parallel downloads."""

    def ping(self) -> None:
        """``GET /v2/``, authenticating if asked: checks the registry is there and we may talk to it."""
        resp = self._request("GET", "/v2/", scopes=(), what="API version check")
        if resp.status != 200:
            raise self._error(resp, "API version check")
        resp.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
