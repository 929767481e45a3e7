"""What a build shows while it runs, in BuildKit's shapes: numbered steps ("vertices") and their output.

The builder reports events: a step starts (``start``, a name like ``[builder 2/3] RUN make``), writes output
(``log``), adds a status line (``status``), is found in the cache (``cached``), ends (``done``) or fails
(``error``). Stages built side by side report from their own threads; every display takes a lock.
Three more events serve the classic builder's shape, which the Engine API's ``/build`` streams (``api.build``):
each Dockerfile instruction as it begins (``instruction``, numbered over all of them as ``Step 2/5``), the
container a RUN step runs in (``container``) and a warning (``warning``); BuildKit's displays show only the
warning, on stderr.

- ``Quiet``: nothing (``-q`` / ``--progress=quiet``; the builder keeps a failing RUN's output to show it).
- ``Plain`` (``--progress=plain``, and ``auto`` when not on a terminal), as BuildKit's plain printer::

      #3 [builder 2/3] RUN make
      #3 0.412 cc -o app app.c
      #3 DONE 1.3s

- ``Tty`` (``--progress=tty``, and ``auto`` on a terminal): a header and one line per step, redrawn in place
  (on a timer while something runs, so the clocks move), with the last lines of a running step's output.
- ``RawJSON`` (``--progress=rawjson``), as BuildKit's rawjson mode (buildx, docker 25+): one JSON object a line,
  the ``SolveStatus`` BuildKit's client gets, with its JSON names: ``vertexes`` (``digest``, ``name``,
  ``started``, ``completed``, ``cached``, ``error``), ``statuses`` and ``logs`` (``vertex``, ``stream``,
  ``data`` as base64, ``timestamp``). A step's digest stands for BuildKit's LLB digest: the sha256 of its number
  and name, so it is the same for every event of the step.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO


class Vertex:
    """One step as shown: its number (in start order), name, times, outcome and output."""

    def __init__(self, number: int, name: str) -> None:
        self.number = number
        self.name = name
        self.started = time.monotonic()
        self.ended: float | None = None
        self.cached = False
        self.error = ""
        self.lines: list[str] = []  # complete output lines (a Tty keeps the last few)
        self.statuses: list[str] = []
        self.partial = b""  # output after the last newline

    def elapsed(self) -> float:
        return (self.ended if self.ended is not None else time.monotonic()) - self.started


class Display:
    """The events; the base class shows nothing (``-q``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.vertices: list[Vertex] = []

    def start(self, name: str) -> Vertex:
        with self.lock:
            v = Vertex(len(self.vertices) + 1, name)
            self.vertices.append(v)
            self._started(v)
        return v

    def log(self, v: Vertex, data: bytes, stream: str = "stdout") -> None:
        with self.lock:
            text = (v.partial + data).split(b"\n")
            v.partial = text.pop()
            for line in text:
                self._line(v, line.decode("utf-8", "replace"))

    def status(self, v: Vertex, text: str) -> None:
        with self.lock:
            self._status(v, text)

    def cached(self, v: Vertex) -> None:
        with self.lock:
            v.cached = True
            self._end(v)

    def done(self, v: Vertex) -> None:
        with self.lock:
            if v.ended is None:
                self._end(v)

    def error(self, v: Vertex, message: str) -> None:
        with self.lock:
            if v.ended is None:
                v.error = message
                self._end(v)

    def instruction(self, number: int, total: int, text: str) -> None:
        """Instruction ``number`` of ``total`` (``text`` as written) begins; BuildKit's shapes show none."""

    def container(self, v: Vertex, cid: str) -> None:
        """Step ``v`` (a RUN) runs in container ``cid``."""

    def warning(self, text: str) -> None:
        """Something the user should see that does not fail the build (build args nobody used)."""
        import sys

        print(text, file=sys.stderr)

    def close(self) -> None:
        pass

    # what a display does with each event (called under the lock)
    def _started(self, v: Vertex) -> None:
        pass

    def _line(self, v: Vertex, line: str) -> None:
        pass

    def _status(self, v: Vertex, text: str) -> None:
        pass

    def _end(self, v: Vertex) -> None:
        v.ended = time.monotonic()
        if v.partial:
            line, v.partial = v.partial, b""
            self._line(v, line.decode("utf-8", "replace"))


Quiet = Display


class Plain(Display):
    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out
        self.last: Vertex | None = None  # whose lines were written last: a blank line before another's header

    def _write(self, v: Vertex, text: str) -> None:
        blank = "\n" if self.last is not None and self.last is not v else ""
        self.last = v
        self.out.write(f"{blank}#{v.number} {text}\n")
        self.out.flush()

    def _started(self, v: Vertex) -> None:
        self._write(v, v.name)

    def _line(self, v: Vertex, line: str) -> None:
        self._write(v, f"{v.elapsed():.3f} {line}")

    def _status(self, v: Vertex, text: str) -> None:
        self._write(v, f"{text} done")

    def _end(self, v: Vertex) -> None:
        super()._end(v)
        if v.cached:
            self._write(v, "CACHED")
        elif v.error:
            self._write(v, f"ERROR: {v.error}")
        else:
            self._write(v, f"DONE {v.elapsed():.1f}s")


class Tty(Display):
    """Redrawn in place: ``[+] Building 1.2s (3/5)``, then a line per step and the tail of running output."""

    TAIL = 6  # output lines shown under a running step

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out
        self.began = time.monotonic()
        self.drawn = 0  # lines drawn last time, to move back over
        self.stop = threading.Event()
        self.ticker = threading.Thread(target=self._tick, name="build-progress", daemon=True)
        self.ticker.start()

    def _tick(self) -> None:
        while not self.stop.wait(0.2):
            with self.lock:
                self._draw()

    def _started(self, v: Vertex) -> None:
        self._draw()

    def _line(self, v: Vertex, line: str) -> None:
        v.lines.append(line)
        del v.lines[: -self.TAIL]

    def _status(self, v: Vertex, text: str) -> None:
        v.statuses.append(text)

    def _end(self, v: Vertex) -> None:
        super()._end(v)
        self._draw()

    def _draw(self) -> None:
        import shutil

        size = shutil.get_terminal_size()
        width = max(20, size.columns) - 1
        done = sum(1 for v in self.vertices if v.ended is not None)
        finished = self.stop.is_set()
        rows = [f"[+] Building {time.monotonic() - self.began:.1f}s ({done}/{len(self.vertices)})"
                + (" FINISHED" if finished and all(not v.error for v in self.vertices) else "")]
        for v in self.vertices:
            name = ("CACHED " if v.cached else "ERROR " if v.error else "") + v.name
            clock = f" {v.elapsed():.1f}s"
            rows.append(_fit(f" => {name}", width - len(clock)).ljust(width - len(clock)) + clock)
            rows += [_fit(f" => => {text}", width) for text in v.statuses]
            if v.ended is None or v.error:
                rows += [_fit(f" => => # {line}", width) for line in v.lines[-self.TAIL:]]
        if len(rows) > max(2, size.lines - 1):  # moving up past the screen's top is not possible: the last ones
            rows = rows[:1] + rows[len(rows) - max(1, size.lines - 2):]
        up = f"\x1b[{self.drawn}A" if self.drawn else ""
        self.out.write(up + "".join(f"\x1b[2K{r}\n" for r in rows) + "\x1b[J")
        self.out.flush()
        self.drawn = len(rows)

    def close(self) -> None:
        self.stop.set()
        self.ticker.join()
        with self.lock:
            self._draw()


class RawJSON(Display):
    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out
        self.ids: dict[int, tuple[str, str]] = {}  # vertex number -> (digest, started as RFC 3339)

    def _emit(self, status: dict[str, object]) -> None:
        import json

        self.out.write(json.dumps(status, separators=(",", ":")) + "\n")
        self.out.flush()

    def _vertex(self, v: Vertex) -> dict[str, object]:
        digest, started = self.ids[v.number]
        out: dict[str, object] = {"digest": digest, "name": v.name, "started": started}
        if v.ended is not None:
            out["completed"] = _rfc3339(time.time())
            if v.cached:
                out["cached"] = True
            if v.error:
                out["error"] = v.error
        return out

    def _started(self, v: Vertex) -> None:
        import hashlib  # here: only this display needs it, and OpenSSL takes ms to load

        digest = "sha256:" + hashlib.sha256(f"{v.number} {v.name}".encode()).hexdigest()
        self.ids[v.number] = (digest, _rfc3339(time.time()))
        self._emit({"vertexes": [self._vertex(v)]})

    def log(self, v: Vertex, data: bytes, stream: str = "stdout") -> None:
        """Output as it comes (BuildKit's logs carry bytes, not lines; stream 1 stdout, 2 stderr)."""
        import base64

        if not data:
            return
        with self.lock:
            self._emit({"logs": [{"vertex": self.ids[v.number][0], "stream": 2 if stream == "stderr" else 1,
                                  "data": base64.b64encode(data).decode(), "timestamp": _rfc3339(time.time())}]})

    def _status(self, v: Vertex, text: str) -> None:
        now = _rfc3339(time.time())
        self._emit({"statuses": [{"id": text, "vertex": self.ids[v.number][0], "name": text, "current": 0,
                                  "timestamp": now, "started": now, "completed": now}]})

    def _end(self, v: Vertex) -> None:
        v.ended = time.monotonic()
        self._emit({"vertexes": [self._vertex(v)]})


def _rfc3339(t: float) -> str:
    """Go's time.Time in JSON (RFC 3339 with fractions), in UTC."""
    import datetime

    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns: a drawn line must not wrap, or moving back over it misses."""
    return "".join(c if c.isprintable() else " " for c in text)[: max(width, 0)]
