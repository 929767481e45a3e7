"""Blob uploads: a cross-repository mount, or ``POST`` then one ``PUT`` or ``PATCH`` chunks and a ``PUT``.

``UploadRequests`` is the push part of ``registry.client.RegistryClient``. It is apart from downloads
because an upload is a session of its own on the registry (a Location to follow, cancelled on a bad
stream), and it verifies the bytes it reads against the digest and size before committing them.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote, urljoin

from geedocker.digest import Digest
from geedocker.errors import GeeDockerError, RegistryError, VerificationError
from geedocker.logger import get_logger
from geedocker.registry.auth import Scope
from geedocker.registry.session import RegistrySession
from geedocker.registry.transport import Response

log = get_logger(__name__)


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


class UploadRequests(RegistrySession):
    """``HEAD`` of the blob, then ``POST``, ``PATCH``, ``PUT`` (``DELETE``: cancel) on ``/v2/<repo>/blobs/uploads/``."""

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


def _add_query(url: str, key: str, value: str) -> str:
    return url + ("&" if "?" in url else "?") + f"{key}={quote(value, safe=':')}"

