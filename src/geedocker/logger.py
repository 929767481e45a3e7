"""Loggers that import :mod:`logging` only when a message is actually emitted.

Importing ``logging`` costs more than 10 ms on a small VM (it pulls in traceback, threading, weakref,
string), which is a tenth of what ``geedocker run`` may take. Modules call ``get_logger(__name__)`` and use
``debug``/``info``/``warning``/``error`` as with :mod:`logging`. While ``logging`` is not imported, a message
below the configured level is dropped without importing it; the first message that passes imports
``logging``, applies the configuration given to :func:`configure` and hands the message over. Once
``logging`` is imported (by anyone: a test harness, a library), every call goes straight to it, so its
levels, handlers and capture work as usual.
"""

from __future__ import annotations

import sys

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
LEVELS = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR}
FORMAT = "%(levelname)s %(name)s: %(message)s"

_pending: tuple[int, str] | None = None  # what configure() asked for, applied when logging is first needed
_threshold = WARNING  # logging's own default for the root logger


def configure(level: int, fmt: str = FORMAT) -> None:
    """``logging.basicConfig(level=level, format=fmt)``, now if ``logging`` is loaded, else on first use."""
    global _threshold, _pending
    _threshold = level
    _pending = (level, fmt)
    if "logging" in sys.modules:
        _apply()


def _apply() -> None:
    global _pending
    import logging

    if _pending is not None:
        level, fmt = _pending
        _pending = None
        logging.basicConfig(level=level, format=fmt)


class Logger:
    """The subset of :class:`logging.Logger` geedocker uses, for the logger named ``name``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def _log(self, level: int, msg: str, args: tuple[object, ...], exc_info: bool) -> None:
        if "logging" not in sys.modules and level < _threshold:
            return
        import logging

        _apply()
        logging.getLogger(self.name).log(level, msg, *args, exc_info=exc_info)

    def debug(self, msg: str, *args: object, exc_info: bool = False) -> None:
        self._log(DEBUG, msg, args, exc_info)

    def info(self, msg: str, *args: object, exc_info: bool = False) -> None:
        self._log(INFO, msg, args, exc_info)

    def warning(self, msg: str, *args: object, exc_info: bool = False) -> None:
        self._log(WARNING, msg, args, exc_info)

    def error(self, msg: str, *args: object, exc_info: bool = False) -> None:
        self._log(ERROR, msg, args, exc_info)


def get_logger(name: str) -> Logger:
    return Logger(name)
