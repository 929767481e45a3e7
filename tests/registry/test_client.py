"""registry.client: the parts put together, the version check, and the client's life."""

from __future__ import annotations

import pytest

from geedocker.errors import RegistryError
from geedocker.registry import RegistryClient, RegistryConfig, StaticCredentials
from tests.registry.conftest import MakeClient
from tests.registry.fakes import FakeRegistry, Fault


def test_ping_checks_the_api_version(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake)
    c.ping()
    assert fake.count("GET", r"/v2/$") == 2  # the scheme probe, then the check itself
    fake.faults.append(Fault("GET", "/v2/$", "status", status=400))
    with pytest.raises(RegistryError, match=r"reg.fake: API version check: unexpected HTTP 400"):
        c.ping()


def test_the_context_manager_closes_only_a_transport_it_made(fake: FakeRegistry) -> None:
    closed: list[bool] = []
    fake.close = lambda: closed.append(True)  # type: ignore[method-assign]
    with RegistryClient(fake.host, config=RegistryConfig(credentials=StaticCredentials({})), transport=fake) as c:
        c.ping()
    assert closed == []  # the caller's transport stays open
    made = RegistryClient("127.0.0.1:1", config=RegistryConfig(credentials=StaticCredentials({})))
    made_closed: list[bool] = []
    made._transport.close = lambda: made_closed.append(True)  # type: ignore[method-assign]
    with made:
        pass
    assert made_closed == [True]
