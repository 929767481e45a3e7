"""Shared fixtures. Tests marked ``root`` are skipped when not running as root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geedocker.store.layout import Layout

# The real registries (session-scoped, started once per run) and the fault proxy, for every test package.
from tests.support.faultproxy import fault_proxy  # noqa: F401
from tests.support.registry import (  # noqa: F401
    registry_basic,
    registry_http,
    registry_tls,
    registry_tls_material,
    registry_token,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    """A fresh store in a temp dir."""
    lay = Layout(tmp_path / "root", tmp_path / "run")
    lay.ensure()
    return lay
