"""registry.session: redirects, retries with backoff and Retry-After, https or http."""

from __future__ import annotations

import io

import pytest

from geedocker.digest import Digest
from geedocker.errors import TransportError
from geedocker.registry.session import _retry_after
from geedocker.registry.transport import TLSFailure
from tests.registry.conftest import MakeClient
from tests.registry.fakes import OCI_M, FakeRegistry, Fault
from tests.registry.fakes import oci_manifest as _manifest


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
