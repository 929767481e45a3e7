"""Integration fixtures: the real test registries and a ``gd`` helper that runs the geedocker CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.netenv import TEST_BRIDGE_ENV, remove_store_firewall

SRC = str(Path(__file__).resolve().parents[2] / "src")

GD = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def gd_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["GEEDOCKER_ROOT"] = str(tmp_path / "gdroot")
    env["GEEDOCKER_RUN"] = str(tmp_path / "gdrun")
    env["DOCKER_CONFIG"] = str(tmp_path / "docker-config")
    env.pop("REGISTRY_AUTH_FILE", None)
    env.pop("GEEDOCKER_CERTS_D", None)
    env.update(TEST_BRIDGE_ENV)  # containers made here use the engine tests' bridge, never geedocker0
    yield env
    remove_store_firewall(Path(env["GEEDOCKER_ROOT"]))


@pytest.fixture
def gd(gd_env: dict[str, str]) -> GD:
    """gd("pull", "x", input=..., env_extra={...}) -> CompletedProcess (text, captured)."""

    def run(*args: str, input: str | None = None, env_extra: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {**gd_env, **(env_extra or {})}
        return subprocess.run([sys.executable, "-m", "geedocker", *args], capture_output=True, text=True,
                              input=input, env=env, timeout=timeout)

    return run
