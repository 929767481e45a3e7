"""geedocker.runtime.cli_spec: ``geedocker-runtime features`` and ``spec``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geedocker.runtime.cli import main


def test_features(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["features"]) == 0
    f = json.loads(capsys.readouterr().out)
    assert "mount" in f["linux"]["namespaces"]
    assert "SCMP_ACT_ERRNO" in f["linux"]["seccomp"]["actions"]


def test_spec_writes_a_valid_config(tmp_path: Path) -> None:
    from geedocker.runtime.spec import Spec

    assert main(["spec", "--bundle", str(tmp_path)]) == 0
    Spec.from_json(json.loads((tmp_path / "config.json").read_text()))
    assert main(["spec", "--bundle", str(tmp_path)]) == 1
