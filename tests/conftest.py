"""Shared fixtures. Tests marked ``root`` are skipped when not running as root."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.store.layout import Layout

# The real registries (session-scoped, started once per run) and the fault proxy, for every test package.
from tests.support.faultproxy import fault_proxy  # noqa: F401
from tests.support.netenv import remove_test_bridge
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


@pytest.fixture(scope="session", autouse=True)
def _remove_test_bridge() -> Iterator[None]:
    """Containers of the engine and integration tests use a test bridge; it goes when the session ends."""
    yield
    remove_test_bridge()


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    """A fresh store in a temp dir."""
    lay = Layout(tmp_path / "root", tmp_path / "run")
    lay.ensure()
    return lay
