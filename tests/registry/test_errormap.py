"""registry.errormap: the registry's error body, and the error a failed answer becomes."""

from __future__ import annotations

import pytest

from geedocker.digest import Digest
from geedocker.errors import NotFoundError, RegistryError
from geedocker.registry.errormap import parse_error_body
from tests.registry.conftest import MakeClient
from tests.registry.fakes import FakeRegistry, Fault


def test_not_found_names_the_reference(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake)
    with pytest.raises(NotFoundError, match=r"reg.fake/nope:latest.*MANIFEST_UNKNOWN"):
        c.get_manifest("nope", "latest")
    assert c.head_manifest("nope", "latest") is None
    assert c.blob_exists("nope", Digest.of(b"x")) is None
    with pytest.raises(NotFoundError, match="BLOB_UNKNOWN"):
        c.open_blob("nope", Digest.of(b"x"))


def test_other_status_maps_to_registry_error(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.faults.append(Fault("GET", "/manifests/", "status", status=400))
    with pytest.raises(RegistryError, match="unexpected HTTP 400"):
        make_client(fake).get_manifest("app", "v1")


def test_error_body_parsing() -> None:
    errs = parse_error_body(b'{"errors":[{"code":"DENIED","message":"no","detail":{}}]}')
    assert [(e.code, e.message) for e in errs] == [("DENIED", "no")]
    assert parse_error_body(b"<html>") == [] and parse_error_body(b'{"errors":3}') == []
