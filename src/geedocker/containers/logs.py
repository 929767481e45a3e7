"""Docker's json-file log format: one JSON object per line, ``{"log": "...\\n", "stream": "stdout", "time": ...}``."""

from __future__ import annotations

import _thread  # not threading: the writer is on the container start path
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
    from io import BufferedIOBase
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
                 max_files: int = 1, compress: bool = False) -> None:
        self.path = path
        self.fd = -1
        self.max_size = max_size  # --log-opt max-size (0: no limit): rotated once it is reached, as docker's
        self.max_files = max(1, max_files)  # --log-opt max-file: the log and max_files - 1 rotated ones
        self.compress = compress and self.max_files > 1  # --log-opt compress: rotated files gzipped (<log>.N.gz)
        # held while a rotated file is being compressed (as docker's rotateMu): the next rotation, and close,
        # wait for it, so two compressions never race and the monitor never exits halfway through one
        self._compressing = _thread.allocate_lock()
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
        self._compressing.acquire()  # the last rotated file is compressed before the files move on
        try:
            # both forms move: a rotated file left plain (compress off, or a crash before its .gz was done)
            # stays readable beside the compressed ones
            last = self.max_files - 1
            for name in (f"{self.path}.{last}", f"{self.path}.{last}.gz"):
                try:
                    os.unlink(name)
                except FileNotFoundError:
                    pass
            for i in range(last, 1, -1):
                for ext in ("", ".gz"):
                    try:
                        os.replace(f"{self.path}.{i - 1}{ext}", f"{self.path}.{i}{ext}")
                    except FileNotFoundError:
                        pass
            os.replace(self.path, f"{self.path}.1")
        except BaseException:
            self._compressing.release()
            raise
        if not self.compress:
            self._compressing.release()
            return
        # as docker: compressed after the rotation, beside the writer, which goes on with the new file at once
        _thread.start_new_thread(self._compress_rotated, ())

    def _compress_rotated(self) -> None:
        try:
            compress_file(Path(f"{self.path}.1"))
        except OSError:
            pass  # the rotated file stays plain, and readable: the log loses nothing
        finally:
            self._compressing.release()

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
        with self._compressing:  # a compression under way ends before the monitor may exit
            pass

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


def compress_file(plain: Path) -> None:
    """``plain`` gzipped into ``<plain>.gz``, then ``plain`` removed (docker's compressFile). Written under a
    temporary name and renamed when whole, so a crash halfway leaves the plain file and no broken .gz."""
    import gzip  # here: only logs with --log-opt compress need it

    gz = Path(f"{plain}.gz")
    tmp = Path(f"{gz}.tmp")
    try:
        with open(plain, "rb") as src, open(tmp, "wb") as raw:
            os.fchmod(raw.fileno(), 0o640)
            # no file name nor time in the header, as Go's gzip writer; level 6 as its default
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as out:
                while chunk := src.read(1 << 16):
                    out.write(chunk)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, gz)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    plain.unlink()  # only now: until the .gz is whole the plain file is the one readers take


def log_files(path: Path) -> list[Path]:
    """The log and its rotated files (``--log-opt max-file``; ``<log>.N`` or, compressed, ``<log>.N.gz``),
    oldest first. Where both are there (a compression finishing) the plain file is taken, as docker does."""
    rotated = []
    i = 1
    while True:
        name = f"{path}.{i}"
        if os.path.exists(name):
            rotated.append(Path(name))
        elif os.path.exists(f"{name}.gz"):
            rotated.append(Path(f"{name}.gz"))
        else:
            break
        i += 1
    return [*reversed(rotated), path]


def _open_log(p: Path) -> BufferedIOBase:
    """A log file to read, decompressed when it is a rotated ``.gz`` one; a plain rotated file compressed in
    the meantime is read from its ``.gz``."""
    if p.suffix != ".gz":
        try:
            return open(p, "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            if p.name.rpartition(".")[2].isdigit():
                return _open_log(Path(f"{p}.gz"))
            raise
    import gzip  # here: only compressed logs need it

    return gzip.open(p, "rb")


def read_entries(path: Path, tail: int | None = None) -> list[LogEntry]:
    """Every entry of the log and its rotated files (the last ``tail`` ones when given)."""
    entries: deque[LogEntry] = deque(maxlen=tail if tail is not None and tail >= 0 else None)
    for p in log_files(path):
        try:
            with _open_log(p) as f:
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
