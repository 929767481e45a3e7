"""``ResumingBlobReader``: a blob download that survives broken connections.

It reads through ``RegistryClient.open_blob`` and, when the connection breaks mid-body (or the body ends
short of a known size), reopens at the current position with a Range request. When the server ignores
Range and sends the whole blob again, it reads and discards the bytes already delivered, so the caller
sees one seamless stream and its hasher stays right. It does not check the digest: wrap it in
``geedocker.digest.DigestingReader`` for that.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from geedocker.digest import Digest
from geedocker.errors import TransportError, VerificationError
from geedocker.logger import get_logger
from geedocker.registry.transport import ConnectionFailure

if TYPE_CHECKING:
    from geedocker.registry.blobs import BlobStream
    from geedocker.registry.client import RegistryClient

log = get_logger(__name__)

_SKIP_CHUNK = 1024 * 1024


class ResumingBlobReader:
    def __init__(
        self,
        client: RegistryClient,
        repo: str,
        digest: Digest,
        *,
        size: int | None = None,
        offset: int = 0,
        max_resumes: int = 5,
    ) -> None:
        self._client = client
        self._repo = repo
        self.digest = digest
        self.size = size
        self.position = offset
        self.max_resumes = max_resumes
        self.resumes = 0
        self.restarts = 0  # resumes where Range was ignored and the start was re-read and discarded
        self._stream: BlobStream | None = None
        self._eof = False
        self._what = f"blob {client.host}/{repo}@{digest}"

    def _open(self) -> BlobStream:
        stream = self._client.open_blob(self._repo, self.digest, self.position)
        if stream.offset != self.position:
            # Range ignored: skip what the caller already has.
            self.restarts += 1 if self.position else 0
            log.info("%s: the registry ignored Range; re-reading %d bytes", self._what, self.position)
            skip = self.position - stream.offset
            try:
                while skip > 0:
                    chunk = stream.read(min(_SKIP_CHUNK, skip))
                    if not chunk:
                        raise ConnectionFailure(f"{self._what}: body ended while skipping to {self.position}")
                    skip -= len(chunk)
            except BaseException:
                stream.close()
                raise
        return stream

    def _fail(self, err: Exception) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self.resumes >= self.max_resumes:
            raise TransportError(
                f"{self._what}: download failed at byte {self.position} after {self.resumes} resumes: {err}"
            ) from err
        self.resumes += 1
        log.info("%s: %s; resuming at byte %d (%d/%d)", self._what, err, self.position, self.resumes,
                 self.max_resumes)

    def read(self, n: int = -1) -> bytes:
        if self._eof:
            return b""
        if n < 0:
            parts: list[bytes] = []
            while chunk := self.read(_SKIP_CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        if self.size is not None:
            n = min(n, max(self.size - self.position, 0) + 1)  # +1 to notice an over-long body
        while True:
            try:
                if self._stream is None:
                    self._stream = self._open()
                data = self._stream.read(n)
            except ConnectionFailure as e:
                self._fail(e)
                continue
            if data:
                self.position += len(data)
                if self.size is not None and self.position > self.size:
                    raise VerificationError(f"{self._what}: more than the expected {self.size} bytes")
                return data
            if self.size is not None and self.position < self.size:
                self._fail(ConnectionFailure(f"body ended at byte {self.position} of {self.size}"))
                continue
            self._eof = True
            self.close()
            return b""

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def __enter__(self) -> ResumingBlobReader:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
