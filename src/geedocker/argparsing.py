"""argparse, without its slow imports.

- ``ArgumentParser`` here is argparse's with a help formatter that measures the terminal with
  ``os.get_terminal_size`` instead of importing shutil (which pulls in bz2, lzma and fnmatch: ~3 ms of every
  command, since argparse builds a formatter for each ``add_argument``).
- argparse is imported with a ``gettext`` that returns its messages as they are. geedocker's messages are
  English only, and the real one costs ~2 ms of every command: its import, ``locale``'s, and a search of
  the locale directories for a catalogue (a dozen ``stat`` calls) for every message argparse translates.
  Only argparse gets it: the module is put back as it was right after argparse is imported.
- Flags are never abbreviated (``allow_abbrev=False``): argparse's prefix matching took ``--priv`` for
  ``--privileged`` and ``--pid=host`` for ``--pids-limit``. Docker's parser (pflag) knows no prefixes.
- A flag the parser does not know is an error, also where argparse would leave it in its "unknown"
  list for a parent (a sub-command's unknown flag is reported by the sub-command, as docker does):
  ``unknown flag: --x`` and ``See 'PROG --help'.``, exit status ``usage_exit_code``.
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


def unknown_flag_message(arg: str) -> str:
    """Docker's (pflag's) words for a flag nobody defined: ``--x=1`` -> ``unknown flag: --x``,
    ``-Z`` -> ``unknown shorthand flag: 'Z' in -Z``."""
    if arg.startswith("--"):
        return f"unknown flag: {arg.partition('=')[0]}"
    return f"unknown shorthand flag: {arg[1:2]!r} in {arg}"


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with :class:`HelpFormatter`, no abbreviations, and unknown flags refused
    (its sub-parsers too: they are of this class). ``strict=False`` leaves unknown arguments to the caller of
    ``parse_known_args``, for a parser that reads a few options off the front of a command line."""

    usage_exit_code = 2  # argparse's own; the CLIs' parsers say docker's (125) or runc's (1)

    def __init__(self, *args: Any, strict: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self.strict = strict

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> tuple[Any, list[str]]:
        ns, extras = super().parse_known_args(args, namespace)
        if self.strict:
            for arg in extras:
                if arg.startswith("-") and arg not in ("-", "--"):
                    self.fail(unknown_flag_message(arg))
        return ns, extras

    def error(self, message: str) -> None:  # type: ignore[override]
        self.fail(message)

    def fail(self, message: str) -> None:
        """Docker's shape of a usage error: the message, then where to read about the flags."""
        sys.stderr.write(f"{message}\nSee '{self.prog} --help'.\n")
        raise SystemExit(self.usage_exit_code)
