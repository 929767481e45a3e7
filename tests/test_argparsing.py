"""geedocker.argparsing: argparse with a help formatter that does not import shutil, and without gettext."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from geedocker.argparsing import ArgumentParser, terminal_width

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_terminal_width_takes_columns_then_falls_back_to_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "132")
    assert terminal_width() == 132
    monkeypatch.setenv("COLUMNS", "not a number")
    monkeypatch.setattr(sys, "__stdout__", None)  # no terminal to ask
    assert terminal_width() == 80


def test_help_wraps_at_the_terminal_width_in_sub_parsers_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    p = ArgumentParser(prog="tool")
    sub = p.add_subparsers(dest="cmd")
    child = sub.add_parser("go")
    child.add_argument("--flag", help="a long help text that needs more than one line at forty columns")
    text = child.format_help()
    assert max(len(line) for line in text.splitlines()) <= 40
    assert "a long help text that needs more than one line at forty columns" in " ".join(text.split())


def test_parsing_a_run_command_loads_neither_shutil_nor_logging() -> None:
    code = (f"import sys; sys.path.insert(0, {SRC!r})\n"
            "from geedocker.cli import main as m, create, run\n"
            "import argparse\n"
            "p = m._CommandParser(prog='geedocker run')\n"
            "run.register(p)\n"
            "p.parse_args(['--rm', '--network', 'none', 'busybox', 'true'])\n"
            "slow = ('shutil', 'logging', 'dataclasses', 'inspect', 'hashlib', 'gettext', 'locale')\n"
            "print(sorted(n for n in slow if n in sys.modules))\n")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_argparse_messages_come_through_untranslated_and_gettext_is_left_as_it_was() -> None:
    code = (f"import sys; sys.path.insert(0, {SRC!r})\n"
            "from geedocker.argparsing import ArgumentParser\n"
            "print('gettext' in sys.modules)\n"
            "p = ArgumentParser(prog='tool')\n"
            "p.add_argument('name')\n"
            "p.add_argument('--n', type=int)\n"
            "p.parse_args(['x', '--n', 'many'])\n")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30,
                         env={"LANGUAGE": "de", "LANG": "de_DE.UTF-8", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 2
    assert out.stdout == "False\n"
    assert out.stderr == "argument --n: invalid int value: 'many'\nSee 'tool --help'.\n"
    help_text = subprocess.run([sys.executable, "-S", "-c", code.replace("['x', '--n', 'many']", "['-h']")],
                               capture_output=True, text=True, timeout=30).stdout
    assert "show this help message and exit" in help_text


def _flags_parser() -> ArgumentParser:
    p = ArgumentParser(prog="tool")
    p.add_argument("--privileged", action="store_true")
    p.add_argument("--pids-limit", type=int)
    p.add_argument("-i", action="store_true")
    p.add_argument("-t", action="store_true")
    sub = p.add_subparsers(dest="cmd")
    sub.add_parser("go").add_argument("--force", action="store_true")
    return p


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--priv"], "unknown flag: --priv"),  # argparse's prefix match made this --privileged
        (["--pid=host"], "unknown flag: --pid"),  # and this --pids-limit=host
        (["--pids"], "unknown flag: --pids"),
        (["-Z"], "unknown shorthand flag: 'Z' in -Z"),
        (["go", "--for"], "unknown flag: --for"),
    ],
)
def test_abbreviations_and_unknown_flags_are_refused_with_dockers_words(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        _flags_parser().parse_args(argv)
    assert e.value.code == 2
    prog = "tool go" if argv[0] == "go" else "tool"  # a sub-command's flag is the sub-command's error
    assert capsys.readouterr().err == f"{message}\nSee '{prog} --help'.\n"


def test_full_names_and_grouped_short_flags_still_parse() -> None:
    ns = _flags_parser().parse_args(["--privileged", "--pids-limit=5", "-it", "go", "--force"])
    assert ns.privileged and ns.pids_limit == 5 and ns.i and ns.t and ns.force


def test_a_lenient_parser_leaves_unknown_flags_to_its_caller() -> None:
    p = ArgumentParser(prog="tool", strict=False)
    p.add_argument("--known")
    ns, rest = p.parse_known_args(["--known", "1", "--other", "x"])
    assert ns.known == "1" and rest == ["--other", "x"]
    ns, rest = p.parse_known_args(["--kno", "1"])  # not strict, yet still no prefixes: --kno is no --known
    assert ns.known is None and rest == ["--kno", "1"]
