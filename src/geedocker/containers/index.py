"""The container list in one file, so that ``ps`` (and every other listing) reads one file, not every record.

    containers/.index/list      geedocker-container-index 1 <boot id> <containers/ mtime_ns> <nlink>
                                <id> <the record's JSON, one line>
                                ...
    containers/.index/dirty     a writer is (or was, until it crashed) between a record and the index
    $RUN/locks/container-index.lock

The records (``containers/<id>/container.json``) stay the truth; the index is a copy of them, kept by the writers
and rebuilt from them whenever it cannot be trusted. A writer holds the lock exclusively, marks the index dirty,
writes the record, puts its line in the index and clears the mark: a writer that dies on the way leaves the mark
behind. A reader holds the lock shared and trusts the index only if no mark is there, the machine has not
rebooted since it was written (records and index are written without fsync: a power cut may keep one and lose the
other), and ``containers/`` has the modification time and link count it had then (a container directory made or
removed by anything that does not keep the index: an older geedocker, a hand). Otherwise it rebuilds the index
under the exclusive lock. A store where the index cannot be written (read-only, another user's) is read record by
record, as before.

This module knows lines, not records (``geedocker.containers.store`` turns one into the other).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator

from geedocker.errors import StoreError
from geedocker.store.fsutil import atomic_write
from geedocker.store.layout import Layout

MAGIC = b"geedocker-container-index"
VERSION = b"1"
MAX_INDEX_BYTES = 256 * 1024 * 1024
ID_LEN = 64


def _boot_id() -> bytes:
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            return f.read().strip() or b"-"
    except OSError:
        return b"-"


class ContainerIndex:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.dir = layout.containers / ".index"
        self.file = self.dir / "list"
        self.mark = self.dir / "dirty"
        self.lock_file = layout.lock("container-index")

    # --- locking ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, shared: bool) -> Iterator[bool]:
        """The index lock; yields False (and holds nothing) where it cannot be taken (no write access)."""
        try:
            self.lock_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            yield False
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield True
        finally:
            os.close(fd)

    def _header(self) -> bytes:
        st = os.stat(self.layout.containers)
        return b" ".join((MAGIC, VERSION, _boot_id(), str(st.st_mtime_ns).encode(), str(st.st_nlink).encode()))

    def _read_lines(self, *, check_dir: bool = True) -> dict[str, bytes] | None:
        """The index's lines by container id, if it can be trusted now (under the lock); None if not.
        ``check_dir=False``: for a writer, whose own change may have made or removed a container directory."""
        if os.path.lexists(self.mark):
            return None
        try:
            with open(self.file, "rb") as f:
                data = f.read(MAX_INDEX_BYTES + 1)
            header = self._header()
        except OSError:
            return None
        if len(data) > MAX_INDEX_BYTES or not data.endswith(b"\n"):
            return None  # too large to be ours, or cut short
        first, _, rest = data.partition(b"\n")
        if first != header and (check_dir or first.split(b" ")[:3] != header.split(b" ")[:3]):
            return None
        out: dict[str, bytes] = {}
        for line in rest.splitlines():
            cid, sep, body = line.partition(b" ")
            if len(cid) != ID_LEN or not sep or not body:
                return None
            out[cid.decode("ascii", "replace")] = body
        return out

    def _write_lines(self, lines: dict[str, bytes]) -> None:
        body = b"".join(cid.encode() + b" " + lines[cid] + b"\n" for cid in sorted(lines))
        atomic_write(self.file, self._header() + b"\n" + body, 0o600, durable=False)

    # --- readers ----------------------------------------------------------------------------------
    def entries(self, rebuild: Callable[[], dict[str, bytes]]) -> dict[str, bytes]:
        """Every container's record line (its JSON) by id: from the index when it can be trusted, else from
        ``rebuild()`` (which reads the records), written back as the new index."""
        with self._locked(shared=True) as ok:
            lines = self._read_lines() if ok else None
        if lines is not None:
            return lines
        with self._locked(shared=False) as ok:
            if not ok:
                return rebuild()
            lines = self._read_lines()  # another reader may have rebuilt it meanwhile
            if lines is not None:
                return lines
            lines = rebuild()
            with contextlib.suppress(OSError, StoreError):  # a store we may read but not write: no index
                self.dir.mkdir(mode=0o700, exist_ok=True)
                self._write_lines(lines)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.mark)
            return lines

    # --- writers ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, cid: str) -> Iterator[Callable[[bytes | None], None]]:
        """Around a change of container ``cid``'s record: yields ``put(line)``, to call once the record is
        written (``None``: the record is gone). If the block fails, or never calls ``put``, the mark stays and
        the next reader rebuilds the index. Without a trusted index there is nothing to keep: the next reader
        makes it."""
        done: list[bytes | None] = []
        with self._locked(shared=False) as ok:
            lines = self._read_lines(check_dir=False) if ok else None
            if lines is not None:
                try:
                    os.close(os.open(self.mark, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
                except OSError:
                    lines = None
            if lines is None:
                with contextlib.suppress(OSError):  # an index this writer cannot keep must not outlive the change
                    os.unlink(self.file)
                yield done.append
                return
            yield done.append
            if not done:
                return
            if done[-1] is None:
                lines.pop(cid, None)
            else:
                lines[cid] = done[-1]
            with contextlib.suppress(OSError, StoreError):
                self._write_lines(lines)
                os.unlink(self.mark)

    def discard(self) -> None:
        """Drop the index (found damaged): the next reader makes it again."""
        with self._locked(shared=False), contextlib.suppress(FileNotFoundError):
            os.unlink(self.file)

    def settle(self) -> None:
        """After a container directory was made or removed outside ``writing`` (the tree of a removed
        container, which may take long to delete): the index, still true, takes ``containers/``'s new
        modification time and link count, so that readers keep trusting it."""
        with self._locked(shared=False) as ok:
            lines = self._read_lines(check_dir=False) if ok else None
            if lines is not None:
                with contextlib.suppress(OSError, StoreError):
                    self._write_lines(lines)
