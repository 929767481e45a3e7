from __future__ import annotations

import io
import json

import pytest

from geedocker import oci
from geedocker.digest import Digest
from geedocker.errors import (
    ManifestError,
    NotFoundError,
    RegistryError,
    TransportError,
    VerificationError,
)
from geedocker.registry.client import _retry_after, parse_error_body
from geedocker.registry.transport import TLSFailure
from tests.registry.conftest import MakeClient
from tests.registry.fakes import FakeRegistry, Fault

OCI_M = oci.MediaType.OCI_MANIFEST.value


def _manifest(config_digest: str = "sha256:" + "a" * 64) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_M,
                       "config": {"mediaType": oci.MediaType.OCI_CONFIG.value, "digest": config_digest, "size": 2},
                       "layers": []}).encode()


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


def test_not_found_names_the_reference(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake)
    with pytest.raises(NotFoundError, match=r"reg.fake/nope:latest.*MANIFEST_UNKNOWN"):
        c.get_manifest("nope", "latest")
    assert c.head_manifest("nope", "latest") is None
    assert c.blob_exists("nope", Digest.of(b"x")) is None
    with pytest.raises(NotFoundError, match="BLOB_UNKNOWN"):
        c.open_blob("nope", Digest.of(b"x"))


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


def test_blob_stream_and_range(fake: FakeRegistry, make_client: MakeClient) -> None:
    data = bytes(range(256)) * 100
    d = Digest.parse(fake.add_blob("r", data))
    c = make_client(fake)
    with c.open_blob("r", d) as s:
        assert s.length == len(data) and not s.resumed and s.offset == 0
        assert s.read(10) == data[:10]
        assert s.read() == data[10:]
    with c.open_blob("r", d, offset=1000) as s:
        assert s.resumed and s.offset == 1000 and s.length == len(data) - 1000
        assert s.read() == data[1000:]
    assert fake.requests[-1].headers["Range"] == "bytes=1000-"
    fake.support_range = False
    with c.open_blob("r", d, offset=1000) as s:
        assert not s.resumed and s.offset == 0
        assert s.read() == data
    with pytest.raises(VerificationError, match="beyond the end"):
        fake.support_range = True
        c.open_blob("r", d, offset=len(data))


def test_get_blob_bytes_verifies_and_caps(fake: FakeRegistry, make_client: MakeClient) -> None:
    data = b'{"architecture":"amd64"}'
    d = Digest.parse(fake.add_blob("r", data))
    c = make_client(fake)
    assert c.get_blob_bytes("r", d, 1000) == data
    with pytest.raises(VerificationError, match="limit"):
        c.get_blob_bytes("r", d, 5)
    fake.faults.append(Fault("GET", "/blobs/", "corrupt"))
    with pytest.raises(VerificationError, match="digest mismatch"):
        c.get_blob_bytes("r", d, 1000)


def test_redirect_drops_authorization_for_other_host(make_client: MakeClient) -> None:
    fake = FakeRegistry(auth="basic", users={"u": "p"})
    from geedocker.registry.credentials import Credentials
    from geedocker.registry.transport import Response

    data = b"blobdata"
    d = fake.add_blob("r", data)
    real_send = fake.send

    def send(method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> Response:
        if url.startswith("https://reg.fake/v2/r/blobs/"):
            resp = real_send(method, url, headers, body)
            if resp.status != 200:
                return resp
            return Response(307, {"Location": "https://cdn.fake/blob?sig=1"}, io.BytesIO(b""), url)
        if url.startswith("https://cdn.fake/"):
            fake.requests.append(__import__("tests.registry.fakes").registry.fakes.Sent(method, url, dict(headers),
                                                                                         body))
            return Response(200, {"Content-Length": str(len(data))}, io.BytesIO(data), url)
        return real_send(method, url, headers, body)

    fake.send = send  # type: ignore[method-assign]
    c = make_client(fake, Credentials("u", "p"))
    with c.open_blob("r", Digest.parse(d)) as s:
        assert s.read() == data
    cdn = [r for r in fake.requests if "cdn.fake" in r.url]
    assert len(cdn) == 1 and "Authorization" not in cdn[0].headers


def test_retries_500_then_success_with_backoff(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.add_manifest("app", "v1", _manifest(), OCI_M)
    fake.faults.append(Fault("GET", "/manifests/", "status", status=500, times=2))
    c = make_client(fake)
    c.get_manifest("app", "v1")
    assert fake.count("GET", "/manifests/v1") == 3
    assert len(c.slept) == 2  # type: ignore[attr-defined]
    # exponential: the second delay's range (0.01*2*[0.5,1]) starts where the first's (0.01*[0.5,1]) ends
    assert 0.005 <= c.slept[0] <= 0.01 <= c.slept[1] <= 0.02  # type: ignore[attr-defined]


def test_retry_429_honours_retry_after_capped(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.add_manifest("app", "v1", _manifest(), OCI_M)
    fake.faults.append(Fault("GET", "/manifests/", "status", status=429, headers={"Retry-After": "3"}))
    fake.faults.append(Fault("GET", "/manifests/", "status", status=429, headers={"Retry-After": "9999"}))
    c = make_client(fake, max_retry_after=5.0)
    c.get_manifest("app", "v1")
    assert c.slept == [3.0, 5.0]  # type: ignore[attr-defined]


def test_retry_after_http_date() -> None:
    assert _retry_after("Thu, 01 Jan 1970 00:00:00 GMT", 10) == 0.0
    assert _retry_after(None, 10) is None and _retry_after("soon", 10) is None


def test_retries_exhausted_gives_transport_error(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.add_manifest("app", "v1", _manifest(), OCI_M)
    fake.faults.append(Fault("GET", "/manifests/", "status", status=503, times=10))
    c = make_client(fake, retries=2)
    with pytest.raises(TransportError, match=r"HTTP 503 after 3 attempts.*UNAVAILABLE"):
        c.get_manifest("app", "v1")
    assert fake.count("GET", "/manifests/v1") == 3


def test_connection_reset_retried(fake: FakeRegistry, make_client: MakeClient) -> None:
    d = Digest.parse(fake.add_blob("r", b"abc"))
    fake.faults.append(Fault("GET", "/blobs/", "reset", times=2))
    c = make_client(fake)
    with c.open_blob("r", d) as s:
        assert s.read() == b"abc"
    assert len(c.slept) == 2  # type: ignore[attr-defined]
    fake.faults.append(Fault("GET", "/blobs/", "reset", times=99))
    with pytest.raises(TransportError, match="connection reset.*after 5 attempts"):
        c.open_blob("r", d)


def test_other_status_maps_to_registry_error(fake: FakeRegistry, make_client: MakeClient) -> None:
    fake.faults.append(Fault("GET", "/manifests/", "status", status=400))
    with pytest.raises(RegistryError, match="unexpected HTTP 400"):
        make_client(fake).get_manifest("app", "v1")


def test_error_body_parsing() -> None:
    errs = parse_error_body(b'{"errors":[{"code":"DENIED","message":"no","detail":{}}]}')
    assert [(e.code, e.message) for e in errs] == [("DENIED", "no")]
    assert parse_error_body(b"<html>") == [] and parse_error_body(b'{"errors":3}') == []


def test_upload_monolithic_and_chunked(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake, chunk_size=1000)
    small = b"s" * 500
    c.upload_blob("r", Digest.of(small), len(small), io.BytesIO(small))
    assert fake.blobs[str(Digest.of(small))] == small
    assert fake.count("PATCH", "/uploads/") == 0
    big = bytes(range(256)) * 10  # 2560 bytes: 3 PATCHes
    c.upload_blob("r", Digest.of(big), len(big), io.BytesIO(big))
    assert fake.blobs[str(Digest.of(big))] == big
    patches = [r for r in fake.requests if r.method == "PATCH"]
    assert [r.headers["Content-Range"] for r in patches] == ["0-999", "1000-1999", "2000-2559"]
    # already there: only a HEAD
    n = len(fake.requests)
    c.upload_blob("r", Digest.of(big), len(big), io.BytesIO(big))
    assert [r.method for r in fake.requests[n:]] == ["HEAD"]


def test_upload_verifies_stream(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake, chunk_size=1000)
    for data in (b"x" * 10, b"y" * 3000):
        with pytest.raises(VerificationError):
            c.upload_blob("r", Digest.of(b"other"), len(data), io.BytesIO(data))
    assert fake.uploads == {}  # both sessions cancelled
    assert fake.count("DELETE", "/uploads/") == 2


def test_put_manifest_and_tags(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake)
    data = _manifest()
    for t in ("v1", "v2", "v3", "latest"):
        assert c.put_manifest("app", t, data, OCI_M) == Digest.of(data)
    assert fake.requests[-1].headers["Content-Type"] == OCI_M
    fake.tag_page_size = 2
    assert c.list_tags("app") == ["latest", "v1", "v2", "v3"]
    assert fake.count("GET", "/tags/list") == 2


def test_https_to_http_server_falls_back_only_for_loopback_or_insecure(make_client: MakeClient) -> None:
    fake = FakeRegistry(host="reg.fake:5000", scheme="http")
    with pytest.raises(TLSFailure, match="server gave HTTP response to HTTPS client"):
        make_client(fake).ping()
    make_client(fake, insecure_registries=("reg.fake:5000",)).ping()
    loop = FakeRegistry(host="127.0.0.1:5000", scheme="http")
    c = make_client(loop)
    c.ping()
    assert c.scheme == "http"
    refused = FakeRegistry(host="localhost:5000", scheme="http")
    refused.faults.append(Fault("GET", "/v2/", "reset"))  # not a refusal: retried on https, then http
    c2 = make_client(refused)
    c2.ping()
    assert c2.scheme == "http"


def test_mount_refused_falls_back_to_upload(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake)
    data = b"not in the source repo"
    c.upload_blob("dst", Digest.of(data), len(data), io.BytesIO(data), mount_from="src")
    assert fake.blobs[str(Digest.of(data))] == data and str(Digest.of(data)) in fake.repo_blobs["dst"]
    posts = [r.url for r in fake.requests if r.method == "POST"]
    assert len(posts) == 1 and "mount=" in posts[0] and "from=src" in posts[0]
