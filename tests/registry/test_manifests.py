"""registry.manifests: fetch (verified against the ref and the Docker-Content-Digest header), HEAD, push."""

from __future__ import annotations

import pytest

from geedocker import oci
from geedocker.digest import Digest
from geedocker.errors import ManifestError, VerificationError
from tests.registry.conftest import MakeClient
from tests.registry.fakes import OCI_M, FakeRegistry
from tests.registry.fakes import oci_manifest as _manifest


def test_get_manifest_by_tag_and_digest(fake: FakeRegistry, make_client: MakeClient) -> None:
    data = _manifest()
    d = fake.add_manifest("app", "v1", data, OCI_M)
    c = make_client(fake)
    m = c.get_manifest("app", "v1")
    assert m.data == data and m.media_type == OCI_M and str(m.digest) == d
    assert fake.requests[-1].headers["Accept"] == oci.ACCEPT_MANIFESTS
    m2 = c.get_manifest("app", d)
    assert m2.digest == m.digest
    assert c.scheme == "https"


def test_manifest_digest_mismatch_against_ref_and_header(fake: FakeRegistry, make_client: MakeClient) -> None:
    d = fake.add_manifest("app", "v1", _manifest(), OCI_M)
    fake.override_manifest_body = _manifest("sha256:" + "b" * 64)
    c = make_client(fake)
    with pytest.raises(VerificationError, match="registry sent content with digest"):
        c.get_manifest("app", d)
    with pytest.raises(VerificationError, match="Docker-Content-Digest"):
        c.get_manifest("app", "v1")
    fake.send_digest_header = False  # no header and a tag: nothing to check against, digest from the bytes
    m = c.get_manifest("app", "v1")
    assert m.digest == Digest.of(fake.override_manifest_body)


def test_manifest_size_cap(fake: FakeRegistry, make_client: MakeClient) -> None:
    big = b'{"schemaVersion":2,"x":"' + b"a" * oci.MAX_MANIFEST_BYTES + b'"}'
    fake.add_manifest("app", "big", big, OCI_M)
    with pytest.raises(ManifestError, match="limit"):
        make_client(fake).get_manifest("app", "big")


def test_schema1_refused(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.add_manifest("old", "v1", b'{"schemaVersion":1,"name":"old","fsLayers":[]}',
                      oci.MediaType.DOCKER_SCHEMA1_SIGNED.value)
    with pytest.raises(ManifestError, match="schema 1"):
        make_client(fake).get_manifest("old", "v1")


def test_head_manifest(fake: FakeRegistry, make_client: MakeClient) -> None:
    data = _manifest()
    d = fake.add_manifest("app", "v1", data, OCI_M)
    c = make_client(fake)
    h = c.head_manifest("app", "v1")
    assert h is not None and str(h.digest) == d and h.size == len(data) and h.media_type == OCI_M
    fake.send_digest_header = False
    h2 = c.head_manifest("app", "v1")  # falls back to GET
    assert h2 is not None and str(h2.digest) == d
    assert fake.count("GET", "/manifests/v1") == 1


def test_put_manifest(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake)
    data = _manifest()
    for t in ("v1", "v2", "v3", "latest"):
        assert c.put_manifest("app", t, data, OCI_M) == Digest.of(data)
    assert fake.requests[-1].headers["Content-Type"] == OCI_M
