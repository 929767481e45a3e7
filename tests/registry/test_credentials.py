from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from geedocker.errors import AuthenticationError
from geedocker.registry.config import RegistryConfig
from geedocker.registry.credentials import (
    Credentials,
    CredentialsFileError,
    DockerConfigStore,
    config_key,
    normalize_host,
)
from geedocker.registry.login import login, logout
from tests.registry.fakes import FakeRegistry


def _auth(u: str, p: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()}


def test_normalize() -> None:
    assert normalize_host("https://index.docker.io/v1/") == "docker.io"
    assert normalize_host("registry-1.docker.io") == "docker.io"
    assert normalize_host("http://Reg.Example:5000/v2/") == "reg.example:5000"
    assert config_key("registry-1.docker.io") == "https://index.docker.io/v1/"
    assert config_key("localhost:5000") == "localhost:5000"


def test_from_env_paths_and_precedence(tmp_path: Path) -> None:
    docker_dir = tmp_path / "docker"
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": _auth("hubuser", "hubpw"),
        "reg:5000": _auth("docker", "d"),
    }}))
    podman = tmp_path / "auth.json"
    podman.write_text(json.dumps({"auths": {"reg:5000": _auth("podman", "p:with:colons")}}))
    store = DockerConfigStore.from_env({"DOCKER_CONFIG": str(docker_dir), "REGISTRY_AUTH_FILE": str(podman)})
    assert store.lookup("reg:5000") == Credentials("podman", "p:with:colons")
    assert store.lookup("registry-1.docker.io") == Credentials("hubuser", "hubpw")
    assert store.lookup("other") is None
    assert store.write_path == podman
    only_docker = DockerConfigStore.from_env({"DOCKER_CONFIG": str(docker_dir)})
    assert only_docker.lookup("reg:5000") == Credentials("docker", "d")
    assert only_docker.write_path == docker_dir / "config.json"


def test_username_password_fields_and_helpers_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"auths": {"a": {"username": "u", "password": "p"}, "b": {}},
                             "credHelpers": {"b": "secretservice"}}))
    store = DockerConfigStore([p], p)
    assert store.lookup("a") == Credentials("u", "p")
    with caplog.at_level("INFO"):
        assert store.lookup("b") is None
    assert "credential helpers are not supported" in caplog.text


def test_bad_files(tmp_path: Path) -> None:
    p = tmp_path / "config.json"
    p.write_text("{nope")
    with pytest.raises(CredentialsFileError, match="invalid JSON"):
        DockerConfigStore([p], p).lookup("a")
    p.write_text(json.dumps({"auths": {"a": {"auth": base64.b64encode(b"nocolon").decode()}}}))
    with pytest.raises(CredentialsFileError, match="user:password"):
        DockerConfigStore([p], p).lookup("a")
    assert "secret" not in repr(Credentials("u", "secret"))


def test_save_is_atomic_0600_and_keeps_other_keys(tmp_path: Path) -> None:
    p = tmp_path / "d" / "config.json"
    p.parent.mkdir()
    p.write_text(json.dumps({"auths": {"http://reg:5000/v2/": _auth("old", "o")}, "psFormat": "table"}))
    store = DockerConfigStore([p], p)
    assert store.save("reg:5000", Credentials("new", "n")) == p
    doc = json.loads(p.read_text())
    assert doc["psFormat"] == "table"
    assert doc["auths"] == {"reg:5000": _auth("new", "n")}
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert [x.name for x in p.parent.iterdir()] == ["config.json"]
    store.save("docker.io", Credentials("h", "x"))
    assert "https://index.docker.io/v1/" in json.loads(p.read_text())["auths"]
    assert store.remove("reg:5000") and not store.remove("reg:5000")
    assert store.lookup("reg:5000") is None and store.lookup("docker.io") == Credentials("h", "x")


def test_login_verifies_before_saving(tmp_path: Path) -> None:
    fake = FakeRegistry(auth="basic", users={"alice": "pw"})
    p = tmp_path / "config.json"
    store = DockerConfigStore([p], p)
    cfg = RegistryConfig(retry_base_delay=0.0)
    with pytest.raises(AuthenticationError, match="alice"):
        login(fake.host, "alice", "bad", config=cfg, transport=fake, store=store)
    assert not p.exists()
    assert login(fake.host, "alice", "pw", config=cfg, transport=fake, store=store) == p
    assert store.lookup(fake.host) == Credentials("alice", "pw")
    assert logout(fake.host, store) is True
    assert store.lookup(fake.host) is None


def test_login_with_token_server(tmp_path: Path) -> None:
    fake = FakeRegistry(auth="bearer", users={"bob": "pw"})
    p = tmp_path / "config.json"
    store = DockerConfigStore([p], p)
    with pytest.raises(AuthenticationError, match="refused user 'bob'"):
        login(fake.host, "bob", "bad", transport=fake, store=store)
    login(fake.host, "bob", "pw", transport=fake, store=store)
    assert store.lookup(fake.host) == Credentials("bob", "pw")
