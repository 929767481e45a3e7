"""Pull progress for the terminal: one redrawn line per layer on a TTY, plain status lines when piped."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from geedocker.cli.common import human_size
from geedocker.images.pull import LayerStatus, ProgressEvent


class PlainProgress:
    """A line per change of a layer's status (not per byte)."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.last: dict[str, LayerStatus] = {}
        self.lock = threading.Lock()

    def __call__(self, ev: ProgressEvent) -> None:
        with self.lock:
            if self.last.get(ev.layer) == ev.status:
                return
            self.last[ev.layer] = ev.status
            self.out.write(f"{ev.layer}: {ev.status.value}\n")
            self.out.flush()

    def close(self) -> None:
        pass


class TtyProgress:
    """One line per layer, redrawn in place (at most ten times a second)."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.order: list[str] = []
        self.state: dict[str, ProgressEvent] = {}
        self.started: dict[str, float] = {}
        self.lock = threading.Lock()
        self.drawn = 0
        self.last_draw = 0.0

    def __call__(self, ev: ProgressEvent) -> None:
        with self.lock:
            if ev.layer not in self.state:
                self.order.append(ev.layer)
            if ev.status is LayerStatus.DOWNLOADING and ev.layer not in self.started:
                self.started[ev.layer] = time.monotonic()
            self.state[ev.layer] = ev
            now = time.monotonic()
            if ev.status is LayerStatus.DOWNLOADING and now - self.last_draw < 0.1:
                return
            self.last_draw = now
            self._draw()

    def _line(self, ev: ProgressEvent) -> str:
        if ev.status is LayerStatus.DOWNLOADING:
            elapsed = max(time.monotonic() - self.started.get(ev.layer, time.monotonic()), 1e-3)
            rate = human_size(ev.current / elapsed)
            return f"{ev.layer}: Downloading  {human_size(ev.current)}/{human_size(ev.total)}  {rate}/s"
        return f"{ev.layer}: {ev.status.value}"

    def _draw(self) -> None:
        buf = []
        if self.drawn:
            buf.append(f"\x1b[{self.drawn}A")
        for layer in self.order:
            buf.append("\x1b[2K" + self._line(self.state[layer]) + "\n")
        self.drawn = len(self.order)
        self.out.write("".join(buf))
        self.out.flush()

    def close(self) -> None:
        with self.lock:
            if self.order:
                self._draw()


def for_stream(out: TextIO, quiet: bool) -> PlainProgress | TtyProgress | None:
    if quiet:
        return None
    return TtyProgress(out) if out.isatty() else PlainProgress(out)
