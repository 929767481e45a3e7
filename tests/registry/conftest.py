"""Fixtures for registry unit tests: a client over the in-memory FakeRegistry."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from geedocker.registry import RegistryClient, RegistryConfig, StaticCredentials
from geedocker.registry.credentials import Credentials
from tests.registry.fakes import FakeRegistry

MakeClient = Callable[..., RegistryClient]


@pytest.fixture
def fake() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def make_client() -> MakeClient:
    """make_client(fake, creds=None, **config) -> a client whose sleeps are recorded in client.slept."""

    def make(fake: FakeRegistry, creds: Credentials | None = None, **cfg: object) -> RegistryClient:
        store = StaticCredentials({fake.host: creds} if creds else {})
        config = RegistryConfig(credentials=store, retry_base_delay=0.01, **cfg)  # type: ignore[arg-type]
        client = RegistryClient(fake.host, config=config, transport=fake)
        slept: list[float] = []
        client.sleep = slept.append
        client.slept = slept  # type: ignore[attr-defined]
        return client

    return make


