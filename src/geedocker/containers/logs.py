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

    def __init__(self, path: Path, on_error: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.fd = -1
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
        data = (b"\n" if self._cut else b"") + (json.dumps(rec) + "\n").encode()
        try:
            if self.fd < 0:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
            view = memoryview(data)
            while view:
                self._cut = True
                view = view[os.write(self.fd, view):]
            self._cut = False
        except OSError as e:
            self.dropped += 1
            if not self.error:
                self.error = f"write {self.path}: {(e.strerror or str(e)).lower()}"
                if self.on_error is not None:
                    self.on_error(self.error)

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


def read_entries(path: Path, tail: int | None = None) -> list[LogEntry]:
    """Every entry of the log (the last ``tail`` ones when given)."""
    entries: deque[LogEntry] = deque(maxlen=tail if tail is not None and tail >= 0 else None)
    try:
        with open(path, "rb") as f:
            for line in f:
                if len(line) > MAX_ENTRY_BYTES:
                    continue
                e = _parse(line)
                if e is not None:
                    entries.append(e)
    except FileNotFoundError:
        return []
    return list(entries)


def follow_entries(path: Path, offset: int, done: Callable[[], bool], poll: float = 0.1) -> Iterator[LogEntry]:
    """Entries appended to ``path`` after byte ``offset`` until ``done()`` and nothing more is written."""
    pending = b""
    with open(path, "rb") as f:
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
            if done():
                rest = f.read()
                if rest:
                    pending += rest
                    continue
                return
            time.sleep(poll)


def write_entries(entries: Iterator[LogEntry] | list[LogEntry], out: BinaryIO, err: BinaryIO, timestamps: bool) -> None:
    for e in entries:
        data = (f"{e.time} " if timestamps else "") + e.log
        stream = err if e.stream == "stderr" else out
        stream.write(data.encode("utf-8", "replace"))
        stream.flush()


def stdio() -> tuple[BinaryIO, BinaryIO]:
    return sys.stdout.buffer, sys.stderr.buffer
