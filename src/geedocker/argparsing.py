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
- Flags and arguments mix in any order (``rm a -f b``), as pflag's, except after a command's REMAINDER
  (``run IMAGE ls -l``: docker's ``SetInterspersed(false)``).
- Too few or too many arguments get docker's (cobra's, CLI 20.10) words and status 1: ``"PROG" requires at
  least 1 argument.``, ``See 'PROG --help'.``, the usage line and the command's description. The bounds come from
  the positionals (``nargs``); a REMAINDER that needs words (``exec CONTAINER COMMAND``) says so with
  ``requires_args``.
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
ARITY_EXIT_CODE = 1  # docker's status for a wrong number of arguments (a flag error is 125)

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


def requires_args(parser: argparse.ArgumentParser, minimum: int) -> None:
    """At least ``minimum`` arguments, where the positionals alone would take fewer (a REMAINDER that must not
    be empty)."""
    parser.min_args = minimum  # type: ignore[attr-defined]


def _bounds(action: argparse.Action) -> tuple[int, float]:
    n = action.nargs
    if n is None:
        return 1, 1
    if isinstance(n, int):
        return n, n
    return {"?": (0, 1), "+": (1, float("inf"))}.get(n, (0, float("inf")))  # *, REMAINDER


def _plural(n: float) -> str:
    return "argument" if n == 1 else "arguments"


def arity_message(prog: str, low: int, high: float) -> str:
    """cobra's words (docker CLI 20.10's ``cli.NoArgs``, ``RequiresMinArgs``, ``ExactArgs``...)."""
    if high == 0:
        return f'"{prog}" accepts no arguments.'
    if high == float("inf"):
        return f'"{prog}" requires at least {low} {_plural(low)}.'
    if low == high:
        return f'"{prog}" requires exactly {low} {_plural(low)}.'
    if low == 0:
        return f'"{prog}" requires at most {high:.0f} {_plural(high)}.'
    return f'"{prog}" requires at least {low} and at most {high:.0f} {_plural(high)}.'


class _SubParsers(argparse._SubParsersAction):  # type: ignore[type-arg]
    """A sub-command's help line is its description too (printed under an argument count error)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if kwargs.get("help") and not kwargs.get("description"):
            kwargs["description"] = kwargs["help"][:1].upper() + kwargs["help"][1:]
        return super().add_parser(name, **kwargs)  # type: ignore[no-any-return]


class _FilterAction(argparse._AppendAction):
    """``--filter K=V`` (``action="filter"``): a value without "=" is a flag error with pflag's words, as
    docker's filter option has it (status 125)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        if "=" not in str(values):
            names = ", ".join(sorted(self.option_strings, key=lambda o: o.startswith("--")))
            fail = parser.fail if isinstance(parser, ArgumentParser) else parser.error
            fail(f'invalid argument "{values}" for "{names}" flag: bad format of filter (expected name=value)')
        super().__call__(parser, namespace, values, option_string)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with :class:`HelpFormatter`, no abbreviations, and unknown flags refused
    (its sub-parsers too: they are of this class). ``strict=False`` leaves unknown arguments to the caller of
    ``parse_known_args``, for a parser that reads a few options off the front of a command line."""

    usage_exit_code = 2  # argparse's own; the CLIs' parsers say docker's (125) or runc's (1)

    def __init__(self, *args: Any, strict: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _SubParsers)
        self.register("action", "filter", _FilterAction)
        self.strict = strict
        self._inner = False  # inside parse_known_intermixed_args, which calls parse_known_args twice

    def _positional_args(self) -> list[argparse.Action]:
        return [a for a in self._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]

    def _intermixable(self) -> bool:
        return not any(isinstance(a, argparse._SubParsersAction) for a in self._actions) and all(
            a.nargs not in (argparse.REMAINDER, argparse.PARSER) for a in self._positional_args())

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> tuple[Any, list[str]]:
        if self._inner:
            return super().parse_known_args(args, namespace)
        self._inner = self._intermixable()
        try:
            ns, extras = (self.parse_known_intermixed_args(args, namespace) if self._inner
                          else super().parse_known_args(args, namespace))  # fmt: skip
        finally:
            self._inner = False
        if self.strict:
            for arg in extras:
                if arg.startswith("-") and arg not in ("-", "--"):
                    self.fail(unknown_flag_message(arg))
            if [a for a in extras if a != "--"]:
                self.arity_error()
            minimum = getattr(self, "min_args", None)
            if minimum is not None and self._count(ns) < minimum:
                self.arity_error()
        return ns, extras

    def _count(self, ns: argparse.Namespace) -> int:
        n = 0
        for a in self._positional_args():
            v = getattr(ns, a.dest, None)
            n += len(v) if isinstance(v, list) else int(v is not None and (a.nargs is None or v != a.default))
        return n

    def docker_usage(self) -> str:
        """The usage line without "usage: " (the command's own, in docker's form, when it sets ``usage``)."""
        if self.usage:
            return self.usage % {"prog": self.prog}
        return self.format_usage().removeprefix("usage: ").strip()

    def arity_error(self) -> None:
        """Docker's answer to too few or too many arguments, status 1."""
        positionals = self._positional_args()
        low = max(sum(_bounds(a)[0] for a in positionals), getattr(self, "min_args", 0))
        high = sum(_bounds(a)[1] for a in positionals)
        tail = f"\n{self.description}\n" if self.description else ""
        sys.stderr.write(f"{arity_message(self.prog, low, high)}\nSee '{self.prog} --help'.\n\n"
                         f"Usage:  {self.docker_usage()}\n{tail}")  # fmt: skip
        raise SystemExit(ARITY_EXIT_CODE)

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.startswith("the following arguments are required: ") and self._positional_args():
            missing = {m.strip() for m in message.partition(": ")[2].split(", ")}
            if any((a.metavar or a.dest) in missing for a in self._positional_args()):
                self.arity_error()
        self.fail(message)

    def fail(self, message: str) -> None:
        """Docker's shape of a usage error: the message, then where to read about the flags."""
        sys.stderr.write(f"{message}\nSee '{self.prog} --help'.\n")
        raise SystemExit(self.usage_exit_code)
