"""The uncompressed tar stream as the applier reads it: hashed, counted, capped, forward-seekable.

A background thread pulls 1 MiB chunks from the decoder and hashes them, so decompression and
hashing (both release the GIL) overlap with the main thread writing files. ``TarSource`` offers
what ``tarfile.TarFile`` needs in ``"r"`` mode (``read``, ``tell`` and forward ``seek``) plus
``copy_to_fd`` to move file data to disk without extra copies.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading

from geedocker.archive.compression import READ_SIZE, Readable
from geedocker.digest import Digest
from geedocker.errors import ArchiveError, LimitExceededError

BLOCK = 512
_QUEUE_CHUNKS = 4


class _Chunks:
    """Chunks of the decoded stream, produced by a worker thread that also hashes and counts them."""

    def __init__(self, reader: Readable, max_bytes: int) -> None:
        self._reader = reader
        self._max = max_bytes
        self._hash = hashlib.sha256()
        self.count = 0
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(_QUEUE_CHUNKS)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="layer-decode", daemon=True)
        self._thread.start()

    def _put(self, item: bytes | BaseException) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._reader.read(READ_SIZE)
                if not data:
                    self._put(b"")
                    return
                self._hash.update(data)
                self.count += len(data)
                if self.count > self._max:
                    self._put(LimitExceededError(f"layer is larger than the limit of {self._max} bytes uncompressed"))
                    return
                if not self._put(data):
                    return
        except BaseException as e:  # handed to the consumer, which raises it in the main thread
            self._put(e)

    def next(self) -> bytes:
        if self._done:
            return b""
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._done = True
            raise item
        if not item:
            self._done = True
            self._thread.join()
        return item

    def digest(self) -> Digest:
        return Digest("sha256", self._hash.hexdigest())

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()


class TarSource:
    """The decoded tar stream; everything read through it is hashed for the diff_id."""

    def __init__(self, reader: Readable, max_bytes: int) -> None:
        self._chunks = _Chunks(reader, max_bytes)
        self._buf = b""
        self._pos = 0
        self._base = 0  # stream offset of _buf[0]
        self._eof = False
        self.last_block = b""  # the last 512-byte read: the header block that ended the archive

    # -- buffer management --------------------------------------------------------------------------

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._chunks.next()
        self._base += len(self._buf)
        self._buf, self._pos = chunk, 0
        if not chunk:
            self._eof = True
            return False
        return True

    def at_eof(self) -> bool:
        while self._pos >= len(self._buf):
            if not self._fill():
                return True
        return False

    # -- what tarfile needs ---------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._base + self._pos

    def read(self, n: int = -1, /) -> bytes:
        end = self._pos + n
        if 0 <= n and end <= len(self._buf):
            out = self._buf[self._pos : end]
            self._pos = end
        else:
            parts: list[bytes] = []
            want = n if n >= 0 else -1
            while want != 0:
                if self._pos >= len(self._buf) and not self._fill():
                    break
                take = len(self._buf) - self._pos if want < 0 else min(want, len(self._buf) - self._pos)
                parts.append(self._buf[self._pos : self._pos + take])
                self._pos += take
                if want > 0:
                    want -= take
            out = b"".join(parts)
        if n == BLOCK:
            self.last_block = out
        return out

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset += self.tell()
        elif whence != 0:
            raise ArchiveError("layer stream: only forward seeks are possible")
        skip = offset - self.tell()
        if skip < 0:
            raise ArchiveError(f"layer stream: cannot seek back from {self.tell()} to {offset}")
        while skip > 0:
            if self._pos >= len(self._buf) and not self._fill():
                break
            take = min(skip, len(self._buf) - self._pos)
            self._pos += take
            skip -= take
        return self.tell()

    # -- bulk data ----------------------------------------------------------------------------------

    def copy_to_fd(self, fd: int, size: int, entry: str, pad: bool = False) -> None:
        """Write the next ``size`` bytes of the stream to ``fd``; then skip the tar padding if ``pad``."""
        pos = self._pos
        end = pos + size + (-size % BLOCK if pad else 0)
        if end <= len(self._buf):  # the common small file: data and padding in this chunk
            view = memoryview(self._buf)[pos : pos + size]
            while view:
                view = view[os.write(fd, view) :]
            self._pos = end
            return
        left = size
        while left > 0:
            if self._pos >= len(self._buf) and not self._fill():
                raise ArchiveError(
                    f"entry {entry!r}: unexpected end of the layer stream ({left} bytes of data missing)"
                )
            take = min(left, len(self._buf) - self._pos)
            view = memoryview(self._buf)[self._pos : self._pos + take]
            while view:
                written = os.write(fd, view)
                view = view[written:]
            self._pos += take
            left -= take
        if pad and size % BLOCK:
            skip = BLOCK - size % BLOCK
            if self._pos + skip <= len(self._buf):
                self._pos += skip
            else:
                self.seek(self.tell() + skip)

    def drain_zeros(self) -> int:
        """Consume the rest of the stream; every byte must be zero. Returns the number of bytes."""
        n = 0
        while True:
            rest = self._buf[self._pos :] if self._pos else self._buf
            if rest.count(0) != len(rest):
                where = self.tell() + len(rest) - len(rest.lstrip(b"\0"))
                raise ArchiveError(f"layer stream has non-zero data after the end-of-archive marker (at byte {where})")
            n += len(rest)
            self._pos = len(self._buf)
            if not self._fill():
                return n

    # -- results ----------------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return self._chunks.count

    def digest(self) -> Digest:
        return self._chunks.digest()

    def close(self) -> None:
        self._chunks.close()
