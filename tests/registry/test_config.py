from __future__ import annotations

from pathlib import Path

import pytest

from geedocker.errors import TransportError
from geedocker.registry.config import RegistryConfig, is_loopback, split_host


def test_split_host_and_loopback() -> None:
    assert split_host("h:5000") == ("h", 5000)
    assert split_host("[::1]:5000") == ("::1", 5000)
    assert split_host("registry-1.docker.io") == ("registry-1.docker.io", None)
    for h in ("localhost", "localhost:5000", "127.0.0.1:5000", "127.3.4.5", "[::1]:80", "a.localhost"):
        assert is_loopback(h), h
    for h in ("10.0.0.1:5000", "example.com", "localhost.example.com"):
        assert not is_loopback(h), h


def test_insecure_matching() -> None:
    cfg = RegistryConfig(insecure_registries=("a.example:5000", "b.example", "10.1.0.0/16"))
    assert cfg.is_insecure("a.example:5000") and not cfg.is_insecure("a.example:5001")
    assert cfg.is_insecure("b.example:443") and cfg.is_insecure("b.example")
    assert cfg.is_insecure("10.1.2.3:5000") and not cfg.is_insecure("10.2.0.1")
    assert not cfg.is_insecure("127.0.0.1:5000")
    assert cfg.may_use_http("127.0.0.1:5000") and not cfg.may_use_http("c.example")


def test_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GEEDOCKER_INSECURE_REGISTRIES", "x:1, y ")
    monkeypatch.setenv("GEEDOCKER_CERTS_D", f"{tmp_path}/a:{tmp_path}/b")
    cfg = RegistryConfig.from_env()
    assert cfg.insecure_registries == ("x:1", "y")
    assert cfg.certs_dirs == (tmp_path / "a", tmp_path / "b")


def test_certs_d_lookup(tmp_path: Path) -> None:
    first, second = tmp_path / "docker", tmp_path / "containers"
    (second / "reg:5000").mkdir(parents=True)
    (second / "reg:5000" / "ca.crt").write_text("x")
    (second / "reg:5000" / "extra.crt").write_text("x")
    (second / "reg:5000" / "client.cert").write_text("x")
    (second / "reg:5000" / "client.key").write_text("x")
    (second / "reg:5000" / "notes.txt").write_text("x")
    cfg = RegistryConfig(certs_dirs=(first, second))
    cas, pairs = cfg.tls_files("reg:5000")
    assert [p.name for p in cas] == ["ca.crt", "extra.crt"]
    assert pairs == [(second / "reg:5000/client.cert", second / "reg:5000/client.key")]
    assert cfg.tls_files("other:1") == ([], [])
    (first / "reg:5000").mkdir(parents=True)  # the first existing dir wins
    assert cfg.tls_files("reg:5000") == ([], [])
    (first / "reg:5000" / "lonely.cert").write_text("x")
    with pytest.raises(TransportError, match="no matching key lonely.key"):
        cfg.tls_files("reg:5000")
