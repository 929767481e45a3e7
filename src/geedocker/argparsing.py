"""argparse, without its slow imports.

- ``ArgumentParser`` here is argparse's with a help formatter that measures the terminal with
  ``os.get_terminal_size`` instead of importing shutil (which pulls in bz2, lzma and fnmatch: ~3 ms of every
  command, since argparse builds a formatter for each ``add_argument``).
- argparse is imported with a ``gettext`` that returns its messages as they are. geedocker's messages are
  English only, and the real one costs ~2 ms of every command: its import, ``locale``'s, and a search of
  the locale directories for a catalogue (a dozen ``stat`` calls) for every message argparse translates.
  Only argparse gets it: the module is put back as it was right after argparse is imported.
"""

from __future__ import annotations

import os
import sys


def _import_argparse() -> None:
    if "argparse" in sys.modules:
        return
    english = type(sys)("gettext")
    english.gettext = lambda message: message  # type: ignore[attr-defined]
    english.ngettext = lambda singular, plural, n: singular if n == 1 else plural  # type: ignore[attr-defined]
    real = sys.modules.get("gettext")
    sys.modules["gettext"] = english
    try:
        import argparse  # noqa: F401 - binds gettext and ngettext from the module above
    finally:
        if real is None:
            del sys.modules["gettext"]
        else:
            sys.modules["gettext"] = real


_import_argparse()
import argparse  # noqa: E402 - after _import_argparse, which chose its gettext

REMAINDER = argparse.REMAINDER

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any


def terminal_width() -> int:
    """Columns of the terminal, as ``shutil.get_terminal_size().columns``: $COLUMNS, stdout's size, or 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, terminal_width() - 2 if width is None else width)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with :class:`HelpFormatter` (its sub-parsers too: they are of this class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
