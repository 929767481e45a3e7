"""Docker's json-file log format: one JSON object per line, ``{"log": "...\\n", "stream": "stdout", "time": ...}``."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from geedocker.timefmt import now_rfc3339
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import BinaryIO

MAX_LINE = 16 * 1024  # docker splits longer lines into partial entries of this size
MAX_ENTRY_BYTES = 1024 * 1024


class JsonLogWriter:
    """Appends container output to a json-file log, a line at a time per stream. The file is made with the
    first entry (readers take a missing log for an empty one): a container that says nothing makes none.

    A log that cannot be written (a full disk, an I/O error) never stops the container, as with docker: the
    entry is dropped and counted (``dropped``), the first error kept (``error``) and ``on_error`` called once
    with it. An entry cut short by the error is ended with a newline before the next one, so readers lose
    that entry only."""

    def __init__(self, path: Path, on_error: Callable[[str], None] | None = None, max_size: int = 0,
                 max_files: int = 1) -> None:
        self.path = path
        self.fd = -1
        self.max_size = max_size  # --log-opt max-size (0: no limit): rotated once it is reached, as docker's
        self.max_files = max(1, max_files)  # --log-opt max-file: the log and max_files - 1 rotated ones
        self.size = 0
        self.pending: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self.dropped = 0
        self.error = ""
        self.on_error = on_error
        self._cut = False  # the last write stopped within an entry

    def write(self, stream: str, data: bytes) -> None:
        buf = self.pending.get(stream, b"") + data
        while True:
            nl = buf.find(b"\n", 0, MAX_LINE)
            if nl < 0:
                if len(buf) >= MAX_LINE:
                    self._entry(stream, buf[:MAX_LINE])
                    buf = buf[MAX_LINE:]
                    continue
                break
            self._entry(stream, buf[: nl + 1])
            buf = buf[nl + 1 :]
        self.pending[stream] = buf

    def _entry(self, stream: str, line: bytes) -> None:
        rec = {"log": line.decode("utf-8", "replace"), "stream": stream, "time": now_rfc3339(nanoseconds=True)}
        data = (b"\n" if self._cut else b"") + (json.dumps(rec, separators=(",", ":")) + "\n").encode()  # as docker
        try:
            if self.fd >= 0 and self.max_size and self.size >= self.max_size:
                self._rotate()
            if self.fd < 0:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
                self.size = os.fstat(self.fd).st_size
            view = memoryview(data)
            while view:
                self._cut = True
                n = os.write(self.fd, view)
                self.size += n
                view = view[n:]
            self._cut = False
        except OSError as e:
            self.dropped += 1
            if not self.error:
                self.error = f"write {self.path}: {(e.strerror or str(e)).lower()}"
                if self.on_error is not None:
                    self.on_error(self.error)

    def _rotate(self) -> None:
        """As docker's json-file: the log becomes ``<log>.1`` (``.1`` becomes ``.2``..., the oldest beyond
        max-file goes); with max-file 1 the log starts again empty. The next entry makes the new file."""
        os.close(self.fd)
        self.fd = -1
        self._cut = False
        if self.max_files < 2:
            os.truncate(self.path, 0)
            return
        for i in range(self.max_files - 1, 1, -1):
            try:
                os.replace(f"{self.path}.{i - 1}", f"{self.path}.{i}")
            except FileNotFoundError:
                pass
        os.replace(self.path, f"{self.path}.1")

    def flush(self) -> None:
        for stream, buf in self.pending.items():
            if buf:
                self._entry(stream, buf)
        self.pending = {k: b"" for k in self.pending}

    def close(self) -> None:
        self.flush()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def report(self) -> str:
        """What went wrong, for the container's record: "" when every entry was written."""
        if not self.dropped:
            return ""
        return f"log: {self.dropped} entries dropped: {self.error}"


@value
class LogEntry:
    log: str
    stream: str
    time: str


def _parse(line: bytes) -> LogEntry | None:
    try:
        d = json.loads(line)
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    return LogEntry(str(d.get("log", "")), str(d.get("stream", "stdout")), str(d.get("time", "")))


def log_files(path: Path) -> list[Path]:
    """The log and its rotated files (``--log-opt max-file``), oldest first."""
    rotated = []
    i = 1
    while os.path.exists(f"{path}.{i}"):
        rotated.append(Path(f"{path}.{i}"))
        i += 1
    return [*reversed(rotated), path]


def read_entries(path: Path, tail: int | None = None) -> list[LogEntry]:
    """Every entry of the log and its rotated files (the last ``tail`` ones when given)."""
    entries: deque[LogEntry] = deque(maxlen=tail if tail is not None and tail >= 0 else None)
    for p in log_files(path):
        try:
            with open(p, "rb") as f:
                for line in f:
                    if len(line) > MAX_ENTRY_BYTES:
                        continue
                    e = _parse(line)
                    if e is not None:
                        entries.append(e)
        except FileNotFoundError:
            continue
    return list(entries)


def parse_size(text: str) -> int:
    """docker's units.RAMInBytes (``10k``, ``5m``, ``1g``: powers of 1024; 0 when it is not a size)."""
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}.get(t[-1:], 1)
    number = t[:-1] if scale != 1 else t
    try:
        return int(float(number) * scale)
    except ValueError:
        return 0


def follow_entries(path: Path, offset: int, done: Callable[[], bool], poll: float = 0.1) -> Iterator[LogEntry]:
    """Entries appended to ``path`` after byte ``offset`` until ``done()`` and nothing more is written; when the
    log is rotated (``--log-opt max-size``) the new file is followed from its start."""
    pending = b""
    f = open(path, "rb")  # noqa: SIM115 - replaced when the log rotates
    try:
        f.seek(offset)
        while True:
            chunk = f.read(65536)
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    e = _parse(line)
                    if e is not None:
                        yield e
                continue
            try:
                rotated = os.stat(path).st_ino != os.fstat(f.fileno()).st_ino
            except FileNotFoundError:
                rotated = False  # between the rename and the next entry: the new file comes
            if not rotated and os.fstat(f.fileno()).st_size < f.tell():
                f.seek(0)  # truncated (max-file 1): the file starts again
                pending = b""
                continue
            if rotated:
                f.close()
                f = open(path, "rb")  # noqa: SIM115
                pending = b""
                continue
            if done():
                rest = f.read()
                if rest:
                    pending += rest
                    continue
                return
            time.sleep(poll)
    finally:
        f.close()


def write_entries(entries: Iterator[LogEntry] | list[LogEntry], out: BinaryIO, err: BinaryIO, timestamps: bool) -> None:
    for e in entries:
        data = (f"{e.time} " if timestamps else "") + e.log
        stream = err if e.stream == "stderr" else out
        stream.write(data.encode("utf-8", "replace"))
        stream.flush()


def stdio() -> tuple[BinaryIO, BinaryIO]:
    return sys.stdout.buffer, sys.stderr.buffer
