"""The container list in one file, so that ``ps`` (and every other listing) reads one file, not every record.

    containers/.index/list      geedocker-container-index 2 <boot id> <bytes after this line when last compacted>
                                <id> <the record's JSON, one line>      a record as written
                                <id> -                                  a record removed
                                = <containers/ mtime_ns> <nlink>        containers/ after the change above
                                ...
    containers/.index/dirty     a writer is (or was, until it crashed) between a record and the index
    $RUN/locks/container-index.lock

The records (``containers/<id>/container.json``) stay the truth; the index is a copy of them, kept by the writers
and rebuilt from them whenever it cannot be trusted. A writer holds the lock exclusively, marks the index dirty,
writes the record, appends its line and clears the mark: a writer that dies on the way leaves the mark behind.
The file only grows by appends (replacing a large file costs a flush of all of it on ext4, on every container
start and exit); a writer that finds it grown past twice its compacted size (plus 256 KiB) writes it anew, each
container's last line alone. A reader holds the lock shared and trusts the index only if no mark is there, the
machine has not rebooted since it was written (records and index are written without fsync: a power cut may keep
one and lose the other), and ``containers/`` has the modification time and link count the last ``=`` line gives
(a container directory made or removed by anything that does not keep the index: an older geedocker, a hand).
Otherwise it rebuilds the index under the exclusive lock. A store where the index cannot be written (read-only,
another user's) is read record by record, as before.

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
VERSION = b"2"
MAX_INDEX_BYTES = 256 * 1024 * 1024
MAX_HEADER = 256
COMPACT_SLACK = 256 * 1024
ID_LEN = 64
REMOVED = b"-"


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

    # --- the file ---------------------------------------------------------------------------------
    def _dir_line(self) -> bytes:
        st = os.stat(self.layout.containers)
        return b"= %d %d" % (st.st_mtime_ns, st.st_nlink)

    def _header_ok(self, first: bytes) -> int | None:
        """The compacted size the header gives, if the header is this version's, of this boot."""
        parts = first.split(b" ")
        if len(parts) != 4 or parts[:3] != [MAGIC, VERSION, _boot_id()] or not parts[3].isdigit():
            return None
        return int(parts[3])

    def _read_lines(self, *, own_mark: bool = False) -> dict[str, bytes] | None:
        """The index's lines by container id, if it can be trusted now (under the lock); None if not.
        ``own_mark``: for the writer that made the mark."""
        if not own_mark and os.path.lexists(self.mark):
            return None
        try:
            with open(self.file, "rb") as f:
                data = f.read(MAX_INDEX_BYTES + 1)
            now = self._dir_line()
        except OSError:
            return None
        if len(data) > MAX_INDEX_BYTES or not data.endswith(b"\n"):
            return None  # too large to be ours, or cut short
        first, _, rest = data.partition(b"\n")
        if self._header_ok(first) is None:
            return None
        out: dict[bytes, bytes] = {}
        seen = b""
        for line in rest.split(b"\n")[:-1]:
            if line[:2] == b"= ":
                seen = line
                continue
            cid, sep, body = line.partition(b" ")
            if len(cid) != ID_LEN or not sep or not body:
                return None
            if body == REMOVED:
                out.pop(cid, None)
            else:
                out[cid] = body
        if seen != now:
            return None
        return {cid.decode("ascii", "replace"): body for cid, body in out.items()}

    def _write_lines(self, lines: dict[str, bytes]) -> None:
        body = b"".join(cid.encode() + b" " + lines[cid] + b"\n" for cid in sorted(lines))
        header = b" ".join((MAGIC, VERSION, _boot_id(), str(len(body)).encode()))
        atomic_write(self.file, header + b"\n" + body + self._dir_line() + b"\n", 0o600, durable=False)

    def _append(self, text: bytes) -> int:
        """Append ``text`` (whole lines) in one write; the file's size after it."""
        fd = os.open(self.file, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        try:
            view = memoryview(text)
            while view:
                view = view[os.write(fd, view):]
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def _kept_header(self) -> int | None:
        """For a writer: the compacted size, if the index is there, unmarked and of this boot (its lines are then
        true up to the directory check, which the writer's own ``=`` line renews); None if not."""
        if os.path.lexists(self.mark):
            return None
        try:
            with open(self.file, "rb") as f:
                first = f.read(MAX_HEADER).partition(b"\n")[0]
        except OSError:
            return None
        return self._header_ok(first)

    # --- readers ----------------------------------------------------------------------------------
    def entries(self, rebuild: Callable[[], dict[str, bytes]]) -> dict[str, bytes]:
        """Every container's record line (its JSON) by id: from the index when it can be trusted, else from
        ``rebuild()`` (which reads the records), written as the new index."""
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
            base = self._kept_header() if ok else None
            if base is not None:
                try:
                    os.close(os.open(self.mark, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
                except OSError:
                    base = None
            if base is None:
                with contextlib.suppress(OSError):  # an index this writer cannot keep must not outlive the change
                    os.unlink(self.file)
                yield done.append
                return
            yield done.append
            if not done:
                return
            line = cid.encode() + b" " + (REMOVED if done[-1] is None else done[-1])
            with contextlib.suppress(OSError, StoreError):
                size = self._append(line + b"\n" + self._dir_line() + b"\n")
                if size > 2 * base + COMPACT_SLACK:
                    self._compact()
                os.unlink(self.mark)

    def _compact(self) -> None:
        """Each container's last line alone (under the exclusive lock, the writer's mark still there)."""
        lines = self._read_lines(own_mark=True)
        if lines is not None:
            self._write_lines(lines)

    def discard(self) -> None:
        """Drop the index (found damaged): the next reader makes it again."""
        with self._locked(shared=False), contextlib.suppress(FileNotFoundError):
            os.unlink(self.file)

    def settle(self) -> None:
        """After a container directory was made or removed outside ``writing`` (the tree of a removed
        container, which may take long to delete): the index, still true, takes ``containers/``'s new
        modification time and link count, so that readers keep trusting it."""
        with self._locked(shared=False) as ok:
            if ok and self._kept_header() is not None:
                with contextlib.suppress(OSError):
                    self._append(self._dir_line() + b"\n")
