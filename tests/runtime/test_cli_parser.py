"""geedocker.runtime.cli_parser: ``geedocker-runtime``'s flags, refused as runc refuses them."""

from __future__ import annotations

import pytest

from geedocker.runtime.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--xx", "list"], "unknown flag: --xx\nSee 'geedocker-runtime --help'.\n"),
     (["delete", "--forc", "c1"], "unknown flag: --forc\nSee 'geedocker-runtime delete --help'.\n"),  # no prefixes
     (["--deb", "list"], "unknown flag: --deb\nSee 'geedocker-runtime --help'.\n")],
)
def test_unknown_and_abbreviated_flags_exit_1(argv: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 1  # runc's status for a bad command line
    assert capsys.readouterr().err == message
