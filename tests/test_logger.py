"""geedocker.logger: logging imported only when a message is emitted, then logging's own behaviour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from geedocker import logger

SRC = str(Path(logger.__file__).resolve().parents[1])


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter without site (so nothing has imported logging)."""
    prelude = (f"import sys; sys.path.insert(0, {SRC!r})\n"
               "from geedocker import logger; log = logger.get_logger('gd.t')\n")
    return subprocess.run([sys.executable, "-S", "-c", prelude + code], capture_output=True, text=True, timeout=30)


def test_a_message_below_the_level_does_not_import_logging() -> None:
    out = _fresh("log.debug('hidden %s', 1); log.info('hidden'); print('logging' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    assert out.stderr == ""


def test_a_warning_imports_logging_and_is_printed() -> None:
    out = _fresh("log.warning('disk %s is full', 'sda'); print('logging' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
    assert out.stderr.strip() == "disk sda is full"  # logging's last-resort handler: the message alone


def test_configure_applies_level_and_format_on_first_use() -> None:
    out = _fresh("logger.configure(logger.DEBUG); print('logging' in sys.modules); log.debug('step %d', 2)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"  # configure alone imports nothing
    assert out.stderr.strip() == "DEBUG gd.t: step 2"


def test_configure_with_a_higher_level_drops_warnings() -> None:
    out = _fresh("logger.configure(logger.ERROR); log.warning('quiet'); log.error('loud');"
                 "print('logging' in sys.modules)")
    assert out.stdout.strip() == "True"
    assert out.stderr.strip() == "ERROR gd.t: loud"


def test_once_logging_is_loaded_its_levels_and_capture_apply(caplog: pytest.LogCaptureFixture) -> None:
    log = logger.get_logger("geedocker.test")
    with caplog.at_level("DEBUG", logger="geedocker.test"):
        log.debug("d %s", "x")
        log.info("i")
        log.warning("w")
        log.error("e")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("DEBUG", "d x"), ("INFO", "i"), ("WARNING", "w"), ("ERROR", "e")]
    assert all(r.name == "geedocker.test" for r in caplog.records)


def test_exc_info_carries_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    log = logger.get_logger("geedocker.test")
    try:
        raise ValueError("boom")
    except ValueError:
        log.error("failed", exc_info=True)
    assert "ValueError: boom" in caplog.text
