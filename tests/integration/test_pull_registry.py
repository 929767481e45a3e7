"""``geedocker pull`` and the image commands against real local registries (Debian's docker-registry)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import GD
from tests.support.layers import file, gzip_bytes, layer_tar, zstd_bytes
from tests.support.registry import TestRegistry, push_index, push_test_image

pytestmark = pytest.mark.registry


def layers(tag: str) -> list[bytes]:
    return [
        gzip_bytes(layer_tar([file("etc/version", tag)])),
        gzip_bytes(layer_tar([file("bin/hello", "#!/bin/sh\necho hello\n", mode=0o755)])),
    ]


def test_pull_images_inspect_tag_rmi(registry_http: TestRegistry, gd: GD) -> None:
    pushed = push_test_image(registry_http, "cli/app", "1", layers("1"))
    name = f"{registry_http.host}/cli/app:1"
    r = gd("pull", name)
    assert r.returncode == 0, r.stderr
    assert f"Digest: {pushed.digest}" in r.stdout
    assert f"Status: Downloaded newer image for {name}" in r.stdout
    r = gd("pull", name)
    assert r.returncode == 0, r.stderr
    assert f"Status: Image is up to date for {name}" in r.stdout
    r = gd("images")
    assert r.returncode == 0
    header, row = r.stdout.splitlines()[:2]
    assert header.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert row.split()[:3] == [f"{registry_http.host}/cli/app", "1", pushed.config_digest.hex[:12]]
    assert gd("images", "-q").stdout.split() == [pushed.config_digest.hex[:12]]
    # docker 24+: one JSON object per line, the short id as `images` shows it
    rows = [json.loads(line) for line in gd("images", "--format", "json").stdout.splitlines()]
    assert [r["ID"] for r in rows] == [pushed.config_digest.hex[:12]]
    info = json.loads(gd("inspect", name).stdout)[0]
    assert info["Id"] == str(pushed.config_digest)
    assert info["RepoDigests"] == [f"{registry_http.host}/cli/app@{pushed.digest}"]
    assert gd("tag", name, "mine:latest").returncode == 0
    assert json.loads(gd("inspect", "mine").stdout)[0]["Id"] == str(pushed.config_digest)
    r = gd("rmi", "mine")
    assert r.returncode == 0 and "Untagged: mine:latest" in r.stdout and "Deleted" not in r.stdout
    r = gd("rmi", name)
    assert r.returncode == 0 and f"Deleted: {pushed.config_digest}" in r.stdout
    assert gd("images", "-q").stdout.strip() == ""
    r = gd("inspect", name)
    assert r.returncode == 1 and "No such object" in r.stderr


def test_bad_reference_exits_125(gd: GD) -> None:
    r = gd("pull", "Not/Valid::ref")
    assert r.returncode == 125
    assert "invalid reference format" in r.stderr


def test_unknown_repository_is_a_clear_error(registry_http: TestRegistry, gd: GD) -> None:
    r = gd("pull", f"{registry_http.host}/does/not-exist:1")
    assert r.returncode == 125
    assert "does/not-exist" in r.stderr


def test_tls_needs_the_ca(registry_tls: TestRegistry, gd: GD) -> None:
    push_test_image(registry_tls, "tls/app", "1", layers("tls"))
    name = f"{registry_tls.host}/tls/app:1"
    r = gd("pull", name)
    assert r.returncode == 125
    assert "certificate" in r.stderr.lower()
    assert registry_tls.certs_d is not None
    r = gd("pull", name, env_extra={"GEEDOCKER_CERTS_D": str(registry_tls.certs_d)})
    assert r.returncode == 0, r.stderr


def test_basic_auth_login_pull_logout(registry_basic: TestRegistry, gd: GD, gd_env: dict[str, str]) -> None:
    push_test_image(registry_basic, "private/app", "1", layers("basic"))
    certs = {"GEEDOCKER_CERTS_D": str(registry_basic.certs_d)}
    name = f"{registry_basic.host}/private/app:1"
    r = gd("pull", name, env_extra=certs)
    assert r.returncode == 125 and "auth" in r.stderr.lower()
    r = gd("login", "-u", "alice", "--password-stdin", registry_basic.host, input="wrong\n", env_extra=certs)
    assert r.returncode != 0
    r = gd("login", "-u", "alice", "--password-stdin", registry_basic.host, input="alice-pw\n", env_extra=certs)
    assert r.returncode == 0, r.stderr
    cfg = json.loads((Path(gd_env["DOCKER_CONFIG"]) / "config.json").read_text())
    assert registry_basic.host in cfg["auths"]
    assert gd("pull", name, env_extra=certs).returncode == 0
    assert gd("logout", registry_basic.host).returncode == 0
    cfg = json.loads((Path(gd_env["DOCKER_CONFIG"]) / "config.json").read_text())
    assert registry_basic.host not in cfg.get("auths", {})


def test_token_auth_anonymous_and_private(registry_token: TestRegistry, gd: GD) -> None:
    push_test_image(registry_token, "public/app", "1", layers("pub"))
    push_test_image(registry_token, "secret/app", "1", layers("sec"))
    assert gd("pull", f"{registry_token.host}/public/app:1").returncode == 0
    r = gd("pull", f"{registry_token.host}/secret/app:1")
    assert r.returncode == 125 and "secret/app" in r.stderr
    assert gd("login", "-u", "bob", "-p", "bob-pw", registry_token.host).returncode == 0
    r = gd("pull", f"{registry_token.host}/secret/app:1")
    assert r.returncode == 0, r.stderr


def test_multi_platform_and_media_types(registry_http: TestRegistry, gd: GD, tmp_path: Path) -> None:
    push_index(registry_http, "multi/app", "1")
    name = f"{registry_http.host}/multi/app:1"
    r = gd("pull", "--platform", "linux/arm64", name)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "flat"
    assert gd("unpack", name, str(out)).returncode == 0
    assert (out / "etc/platform").read_text() == "linux/arm64/v8\n"
    r = gd("pull", "--platform", "windows/amd64", name)
    assert r.returncode == 125 and "linux/amd64" in r.stderr and "linux/arm64/v8" in r.stderr
    push_test_image(registry_http, "types/docker", "1", layers("d"), media_types="docker")
    push_test_image(registry_http, "types/zstd", "1", [zstd_bytes(layer_tar([file("z", "zstd")]))])
    assert gd("pull", f"{registry_http.host}/types/docker:1").returncode == 0
    assert gd("pull", f"{registry_http.host}/types/zstd:1").returncode == 0
    assert gd("unpack", f"{registry_http.host}/types/zstd:1", str(tmp_path / "z")).returncode == 0
    assert (tmp_path / "z/z").read_text() == "zstd"


def test_concurrent_pulls_of_one_image(registry_http: TestRegistry, gd_env: dict[str, str]) -> None:
    big = [gzip_bytes(layer_tar([file(f"f{i}", bytes([i]) * 2_000_000)])) for i in range(3)]
    push_test_image(registry_http, "conc/app", "1", big)
    name = f"{registry_http.host}/conc/app:1"
    procs = [
        subprocess.Popen([sys.executable, "-m", "geedocker", "pull", "-q", name], env=gd_env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    root = Path(gd_env["GEEDOCKER_ROOT"])
    assert len(list((root / "layers").iterdir())) == 3
    assert list((root / "ingest").iterdir()) == []
    assert len(json.loads((root / "images.json").read_text())["images"]) == 1


@pytest.mark.root
def test_rmi_refuses_an_image_a_container_uses(registry_http: TestRegistry, gd: GD, tmp_path: Path) -> None:
    from tests.support.layers import busybox_rootfs_entries

    tar = tmp_path / "bb.tar"
    tar.write_bytes(layer_tar(busybox_rootfs_entries()))
    assert gd("import", str(tar), "inuse/bb:1").returncode == 0
    r = gd("create", "--name", "user1", "inuse/bb:1", "true")
    assert r.returncode == 0, r.stderr
    try:
        r = gd("rmi", "inuse/bb:1")
        assert r.returncode != 0 and "is using its referenced image" in r.stderr  # docker's words
        assert gd("images", "-q").stdout.strip() != ""
    finally:
        assert gd("rm", "-f", "user1").returncode == 0
    assert gd("rmi", "inuse/bb:1").returncode == 0
