"""Blob downloads: a streaming ``GET`` (from an offset, with ``Range``), a small verified blob, a ``HEAD``.

``BlobRequests`` is the download part of ``registry.client.RegistryClient``; ``BlobStream`` is what it
returns, and what ``registry.resume.ResumingBlobReader`` reopens after a broken connection.
"""

from __future__ import annotations

import re
from types import TracebackType

from geedocker.digest import Digest
from geedocker.errors import TransportError, VerificationError
from geedocker.registry.auth import Scope
from geedocker.registry.session import RegistrySession
from geedocker.registry.transport import Response, read_at_most


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


class BlobRequests(RegistrySession):
    """``GET`` and ``HEAD /v2/<repo>/blobs/<digest>``."""

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
