"""geedocker.cli.main: an error is one line, and ``-D`` prints the causes behind it in one block."""

from __future__ import annotations

from pathlib import Path

import pytest

from geedocker.cli.main import main


def test_debug_prints_the_cause_chain_below_the_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "images.json").write_text("not json")
    assert main(["--root", str(tmp_path), "images"]) == 125
    plain = capsys.readouterr().err
    assert plain.startswith("Error: ") and plain.count("\n") == 1
    assert "caused by" not in plain

    code = main(["--root", str(tmp_path), "-D", "images"])
    err = capsys.readouterr().err.splitlines()
    assert code == 125
    assert err[0] == plain.rstrip("\n")
    assert err[1].startswith("  caused by: JSONDecodeError: Expecting value")
    assert len(err) == 2


def test_management_commands_alone_or_with_an_unknown_subcommand(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    """As docker: ``geedocker container`` prints its help (status 0); an unknown subcommand is docker's
    "unknown command" (status 1)."""
    for group in ("container", "image", "system", "network", "volume", "builder"):
        assert main(["--root", str(tmp_path), group]) == 0
        assert f"geedocker {group}" in capsys.readouterr().out
    assert main(["--root", str(tmp_path), "container", "bogus"]) == 1
    assert capsys.readouterr().err.startswith("geedocker: unknown command: geedocker container bogus\n")
