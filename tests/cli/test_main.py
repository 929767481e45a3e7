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
