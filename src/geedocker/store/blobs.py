"""The content-addressed blob store: ``blobs/sha256/<hex>``.

The contract (after umoci's oci/cas): a put is idempotent and verified; a committed blob is read-only and
never changes; a blob is written to a temp file on the same filesystem, fsynced and renamed, so a crash
leaves either the whole blob or nothing. Downloads go through an ``Ingest``: the partial data lives in
``ingest/<digest>/data`` so a later pull resumes where this one stopped.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from geedocker.digest import Digest
from geedocker.errors import DigestError, DiskFullError, StoreError, VerificationError
from geedocker.store.fsutil import file_lock, fsync_dir, remove_tree, temp_file
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import BinaryIO

CHUNK = 1 << 20


def _oserror(e: OSError, what: str) -> StoreError:
    if e.errno == errno.ENOSPC:
        return DiskFullError(f"no space left on device while writing {what}")
    return StoreError(f"{what}: {e.strerror or e}")


class BlobStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def path(self, digest: Digest) -> Path:
        return self.layout.blob(digest)

    def has(self, digest: Digest) -> bool:
        return self.path(digest).is_file()

    def has_size(self, digest: Digest, size: int) -> bool:
        """The blob is there with the size its descriptor records (one stat): what a cached pull trusts without
        reading it again (a committed blob was verified when it came in and is read-only since)."""
        try:
            return self.path(digest).stat().st_size == size
        except OSError:
            return False

    def size(self, digest: Digest) -> int:
        return self.path(digest).stat().st_size

    def open(self, digest: Digest) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError as e:
            raise StoreError(f"blob {digest} is not in the store") from e

    def read_bytes(self, digest: Digest, max_size: int = 64 << 20) -> bytes:
        p = self.path(digest)
        try:
            if p.stat().st_size > max_size:
                raise StoreError(f"blob {digest} is larger than {max_size} bytes")
            return p.read_bytes()
        except FileNotFoundError as e:
            raise StoreError(f"blob {digest} is not in the store") from e

    def put_bytes(self, data: bytes, expected: Digest | None = None) -> Digest:
        """Store ``data``; verify it against ``expected`` if given. Idempotent."""
        algorithm = expected.algorithm if expected else "sha256"
        got = Digest.of(data, algorithm)
        if expected is not None and got != expected:
            raise VerificationError(f"blob digest mismatch: expected {expected}, got {got}")
        if self.has(got):
            return got
        dest = self.path(got)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_file(self.layout.tmp, "blob-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self._commit_file(Path(tmp), dest)
        except OSError as e:
            raise _oserror(e, f"blob {got}") from e
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return got

    def put_stream(self, stream: BinaryIO, expected: Digest, size: int | None = None) -> Digest:
        """Copy a stream into the store, verifying digest and size; nothing is kept on mismatch."""
        with self.ingest(expected, size) as ing:
            ing.reset()
            while chunk := stream.read(CHUNK):
                ing.write(chunk)
            ing.commit()
        return expected

    @contextlib.contextmanager
    def writer(self) -> Iterator[BlobWriter]:
        """Write a blob whose digest is not known beforehand (``import``, ``load``): the bytes are hashed
        as they go to a temp file, which is committed under their digest when the block ends without error."""
        fd, tmp = temp_file(self.layout.tmp, "blob-")
        w = BlobWriter(os.fdopen(fd, "wb"))
        try:
            yield w
            w.f.flush()
            os.fsync(w.f.fileno())
            w.f.close()
            if not self.has(w.digest):
                self._commit_file(Path(tmp), self.path(w.digest))
        except OSError as e:
            raise _oserror(e, "a blob") from e
        finally:
            w.f.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _commit_file(self, tmp: Path, dest: Path) -> None:
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)

    @contextlib.contextmanager
    def ingest(self, digest: Digest, size: int | None = None) -> Iterator[Ingest]:
        """Hold the per-blob lock and an Ingest for a download of ``digest``.

        Another process pulling the same blob waits on the lock, then finds it committed (``done``).
        """
        with file_lock(self.layout.lock(f"blob-{digest.hex}")):
            ing = Ingest(self, digest, size)
            try:
                yield ing
            finally:
                ing.close()

    def sweep_ingest(self) -> list[Digest]:
        """Remove what ingests of blobs already in the store left: a process killed between a commit's rename
        and its cleanup leaves the (then empty) ingest dir. The digests swept."""
        swept: list[Digest] = []
        try:
            names = os.listdir(self.layout.ingest)
        except FileNotFoundError:
            return swept
        for name in names:
            algorithm, _, hex_ = name.partition("-")
            try:
                digest = Digest.parse(f"{algorithm}:{hex_}")
            except DigestError:
                continue
            if self.has(digest):
                remove_tree(self.layout.ingest / name)
                swept.append(digest)
        return swept

    def delete(self, digest: Digest) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(digest))

    def all(self) -> list[Digest]:
        base = self.layout.blobs / "sha256"
        if not base.is_dir():
            return []
        return [Digest("sha256", p.name) for p in base.iterdir() if len(p.name) == 64]


class BlobWriter:
    """A write-only file that hashes and counts what goes through it (see ``BlobStore.writer``)."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        import hashlib  # here: OpenSSL takes ms to load, and reading the store needs no hashing

        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()

    @property
    def digest(self) -> Digest:
        return Digest("sha256", self._hash.hexdigest())


class Ingest:
    """A resumable download of one blob: append bytes, then ``commit()`` verifies and moves it in place."""

    def __init__(self, store: BlobStore, digest: Digest, size: int | None) -> None:
        self.store = store
        self.digest = digest
        self.size = size
        self.dir = store.layout.ingest_dir(digest)
        self.data = self.dir / "data"
        self._hash = digest.hasher()
        self._f: BinaryIO | None = None
        self.offset = 0

    @property
    def done(self) -> bool:
        """True when the blob is already committed (by us earlier or by another process)."""
        return self.store.has(self.digest)

    def open(self) -> int:
        """Open the partial data for appending; return how many bytes are already there (rehashed)."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            f = open(self.data, "a+b")
        except OSError as e:
            raise _oserror(e, f"ingest of {self.digest}") from e
        f.seek(0)
        self._hash = self.digest.hasher()
        n = 0
        while chunk := f.read(CHUNK):
            self._hash.update(chunk)
            n += len(chunk)
        if self.size is not None and n > self.size:
            f.seek(0)
            f.truncate()
            self._hash = self.digest.hasher()
            n = 0
        self._f = f
        self.offset = n
        return n

    def reset(self) -> None:
        """Throw away the partial data and start at 0 (the registry ignored our Range request)."""
        if self._f is None:
            self.open()
        assert self._f is not None
        self._f.seek(0)
        self._f.truncate()
        self._hash = self.digest.hasher()
        self.offset = 0

    def write(self, chunk: bytes) -> None:
        if self._f is None:
            self.open()
        assert self._f is not None
        if self.size is not None and self.offset + len(chunk) > self.size:
            self.discard()
            raise VerificationError(f"blob {self.digest}: more data than the {self.size} bytes promised")
        try:
            self._f.write(chunk)
        except OSError as e:
            err = _oserror(e, f"blob {self.digest}")
            self.discard()
            raise err from e
        self._hash.update(chunk)
        self.offset += len(chunk)

    def current_digest(self) -> Digest:
        """The digest of the bytes ingested so far."""
        return Digest(self.digest.algorithm, self._hash.hexdigest())

    def read_prefix(self) -> BinaryIO:
        """A reader of the bytes already ingested (to replay them into an unpacker on resume)."""
        return open(self.data, "rb")

    def commit(self) -> Digest:
        """Verify size and digest; move the data into the blob store (read-only). Mismatch: discard."""
        if self._f is None:
            self.open()
        assert self._f is not None
        got = Digest(self.digest.algorithm, self._hash.hexdigest())
        if self.size is not None and self.offset != self.size:
            got_size = self.offset
            self.discard()
            raise VerificationError(f"blob {self.digest}: got {got_size} bytes, expected {self.size}")
        if got != self.digest:
            self.discard()
            raise VerificationError(f"blob digest mismatch: expected {self.digest}, got {got}")
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            self._f = None
            dest = self.store.path(self.digest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.store._commit_file(self.data, dest)
        except OSError as e:
            err = _oserror(e, f"blob {self.digest}")
            self.discard()
            raise err from e
        remove_tree(self.dir)
        return self.digest

    def discard(self) -> None:
        """Remove the partial data (bad bytes, full disk)."""
        self.close()
        remove_tree(self.dir)
        self.offset = 0
        self._hash = self.digest.hasher()

    def close(self) -> None:
        if self._f is not None:
            with contextlib.suppress(OSError):
                self._f.flush()
            self._f.close()
            self._f = None
