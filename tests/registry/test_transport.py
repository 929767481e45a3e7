from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from geedocker.errors import RegistryError, TransportError
from geedocker.registry.config import RegistryConfig
from geedocker.registry.transport import Response, Urllib3Transport, proxy_for, tls_error


def test_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(k, raising=False)
    assert proxy_for("https://reg.example/v2/") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://plainproxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example,.corp")
    assert proxy_for("https://reg.example/v2/") == "http://proxy.example:3128"
    assert proxy_for("http://reg.example/v2/") == "http://plainproxy.example:3128"
    assert proxy_for("https://internal.example:5000/v2/") is None
    assert proxy_for("https://a.corp/v2/") is None
    assert proxy_for("https://127.0.0.1:5000/v2/") is None  # loopback is never proxied
    assert proxy_for("http://localhost:5000/v2/") is None


def test_tls_error_hints() -> None:
    e = tls_error("https://r:5000/v2/", ssl.SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version number"))
    assert e.plain_http and "server gave HTTP response to HTTPS client" in str(e)
    e = tls_error("https://r:5000/v2/", ssl.SSLError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"))
    assert not e.plain_http
    assert "certificate signed by unknown authority" in str(e)
    assert "/etc/docker/certs.d/r:5000/ca.crt" in str(e) and "insecure" in str(e)
    e = tls_error("https://r/v2/", ssl.SSLError("[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert "
                                                "certificate required"))
    assert "client.cert and client.key in /etc/docker/certs.d/r/" in str(e)
    e = tls_error("https://r/v2/", ssl.SSLError("certificate verify failed: Hostname mismatch"))
    assert "not valid for this host name" in str(e)


def test_ssl_context_loads_certs_d_and_insecure(tmp_path: Path) -> None:
    d = tmp_path / "reg:5000"
    d.mkdir()
    (d / "ca.crt").write_text("not a certificate")
    t = Urllib3Transport(RegistryConfig(certs_dirs=(tmp_path,)))
    with pytest.raises(TransportError, match="cannot load CA certificate"):
        t.ssl_context("reg:5000")
    assert t.ssl_context("other:1").verify_mode == ssl.CERT_REQUIRED
    t2 = Urllib3Transport(RegistryConfig(certs_dirs=(tmp_path,), insecure_registries=("x:1",)))
    ctx = t2.ssl_context("x:1")
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname


def test_response_read_capped() -> None:
    import io

    r = Response(200, {"Content-Length": "100"}, io.BytesIO(b"x" * 100), "u")
    with pytest.raises(RegistryError, match="over the 10-byte limit"):
        r.read_capped(10, "thing")
    r = Response(200, {}, io.BytesIO(b"x" * 100), "u")  # no length: counted while reading
    with pytest.raises(RegistryError, match="over the 50-byte limit"):
        r.read_capped(50, "thing")
    r = Response(200, {"CONTENT-TYPE": "a"}, io.BytesIO(b"abc"), "u")
    assert r.headers["content-type"] == "a" and r.read_capped(3, "t") == b"abc"


def test_refused_connection_is_a_retryable_failure() -> None:
    import socket

    from geedocker.registry.transport import ConnectionFailure

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    t = Urllib3Transport(RegistryConfig(connect_timeout=2))
    with pytest.raises(ConnectionFailure) as ei:
        t.send("GET", f"http://127.0.0.1:{port}/v2/", {})
    assert ei.value.refused
    t.close()


def test_proxy_manager_chosen_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib3

    for k in ("NO_PROXY", "no_proxy", "https_proxy", "http_proxy"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    t = Urllib3Transport(RegistryConfig(certs_dirs=()))
    pm = t._manager("https://reg.example/v2/")
    assert isinstance(pm, urllib3.ProxyManager) and pm.proxy is not None and pm.proxy.host == "proxy.example"
    assert not isinstance(t._manager("https://127.0.0.1:5000/v2/"), urllib3.ProxyManager)
    assert t._manager("https://reg.example/v2/x") is pm  # one manager per (scheme, host, proxy)
    t.close()
