"""Prune through the API (``containers.prune`` in the engine, as the CLI's): docker's CLIs and docker-py see
dangling images go by default and unused ones with ``-a``/``dangling=false``, the until/label/label! filters
applied as dockerd applies them, an unknown one refused, and the bytes reclaimed."""

from __future__ import annotations

import os
import re
import secrets

import pytest

from tests.api.conftest import CLIS, Service

pytestmark = [pytest.mark.root, pytest.mark.registry]

CLI_VERSIONS = [v for v, path in CLIS.items() if os.path.exists(path)]
KB100 = "dd if=/dev/urandom of=/blob bs=1024 count=100 2>/dev/null"


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def _image_ids(service: Service) -> set[str]:
    return set(service.docker("20.10", "images", "-aq", "--no-trunc").stdout.split())


def _commit(service: Service, cli: str, ref: str, *changes: str) -> str:
    """An image of busybox with 100 KiB more, tagged ``ref``: its id."""
    c = _name("c")
    r = service.docker(cli, "run", "--name", c, "--network", "none", "busybox", "sh", "-c", KB100)
    assert r.returncode == 0, r.stderr
    args = [x for ch in changes for x in ("-c", ch)]
    r = service.docker(cli, "commit", *args, c, ref)
    assert r.returncode == 0, r.stderr
    assert service.docker(cli, "rm", c).returncode == 0
    return r.stdout.strip()


def _reclaimed(out: str) -> str:
    m = re.search(r"Total reclaimed space: (\S+)", out)
    assert m, out
    return m.group(1)


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_image_prune_dangling_then_all_with_a_label(service: Service, cli: str) -> None:
    repo = f"prune-{cli.replace('.', '')}"
    old = _commit(service, cli, f"{repo}:1")
    new = _commit(service, cli, f"{repo}:1")  # the tag moves: the old image is dangling
    labelled = _commit(service, cli, f"{repo}:labelled", "LABEL prune=yes")
    assert old != new and old in _image_ids(service)
    r = service.docker(cli, "image", "prune", "-f")
    assert r.returncode == 0, r.stderr
    assert f"deleted: {old}" in r.stdout and new not in r.stdout
    assert _reclaimed(r.stdout) != "0B"  # its 100 KiB layer went
    ids = _image_ids(service)
    assert old not in ids and new in ids and labelled in ids
    r = service.docker(cli, "image", "prune", "-a", "-f", "--filter", "label=prune=yes")
    assert r.returncode == 0, r.stderr
    assert f"untagged: {repo}:labelled" in r.stdout and f"deleted: {labelled}" in r.stdout
    ids = _image_ids(service)
    assert labelled not in ids and new in ids  # busybox and the unlabelled one stay
    r = service.docker(cli, "image", "prune", "-a", "-f", "--filter", "label!=prune", "--filter",
                       f"until={'2000-01-01T00:00:00Z'}")  # fmt: skip
    assert r.returncode == 0 and "deleted" not in r.stdout, r.stdout + r.stderr  # all are younger
    assert service.docker(cli, "rmi", f"{repo}:1").returncode == 0


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_container_and_network_prune_with_filters(service: Service, cli: str) -> None:
    keep, go = _name("keep"), _name("go")
    for name, label in ((keep, "stay=1"), (go, "prune=yes")):
        r = service.docker(cli, "run", "--name", name, "--label", label, "--network", "none", "busybox", "sh", "-c",
                           KB100)  # fmt: skip
        assert r.returncode == 0, r.stderr
    r = service.docker(cli, "container", "prune", "-f", "--filter", "label=prune=yes")
    assert r.returncode == 0, r.stderr
    go_id = service.docker(cli, "ps", "-aq", "--no-trunc", "--filter", f"name={go}").stdout.strip()
    assert go_id == "" and "Deleted Containers:" in r.stdout
    assert _reclaimed(r.stdout) != "0B"  # its writable layer held 100 KiB
    r = service.docker(cli, "container", "prune", "-f", "--filter", "label!=stay")
    assert keep not in r.stdout and service.docker(cli, "inspect", keep).returncode == 0
    assert service.docker(cli, "rm", keep).returncode == 0
    nets = [_name("pnet"), _name("pnet")]
    assert service.docker(cli, "network", "create", "--label", "prune=yes", nets[0]).returncode == 0
    assert service.docker(cli, "network", "create", nets[1]).returncode == 0
    r = service.docker(cli, "network", "prune", "-f", "--filter", "label=prune=yes")
    assert r.returncode == 0 and nets[0] in r.stdout and nets[1] not in r.stdout, r.stdout + r.stderr
    r = service.docker(cli, "network", "prune", "-f", "--filter", "until=2000-01-01T00:00:00Z")
    assert nets[1] not in r.stdout  # younger than that
    assert service.docker(cli, "network", "rm", nets[1]).returncode == 0


@pytest.mark.parametrize("cli", CLI_VERSIONS)
@pytest.mark.parametrize("kind", ["container", "image", "network"])
def test_an_unknown_prune_filter_is_the_daemons_error(service: Service, cli: str, kind: str) -> None:
    r = service.docker(cli, kind, "prune", "-f", "--filter", "bogus=1")
    assert r.returncode == 1 and "Error response from daemon: Invalid filter 'bogus'" in r.stderr, r.stderr


def test_docker_py_prunes(service: Service) -> None:
    docker = pytest.importorskip("docker")
    repo = "prune-py"
    old = _commit(service, "20.10", f"{repo}:1")
    _commit(service, "20.10", f"{repo}:1")
    client = docker.DockerClient(base_url=service.env["DOCKER_HOST"], timeout=120)
    try:
        answer = client.images.prune()  # no filters: dangling images only (docker's default)
        assert {"Deleted": old} in answer["ImagesDeleted"] and answer["SpaceReclaimed"] >= 100 * 1024
        assert old not in _image_ids(service) and client.images.get(f"{repo}:1")
        answer = client.images.prune(filters={"dangling": False, "label": "no-such-label"})
        assert answer == {"ImagesDeleted": None, "SpaceReclaimed": 0}
        c = client.containers.run("busybox", ["sh", "-c", KB100], detach=True, network_mode="none",
                                  labels={"pypruned": "1"})  # fmt: skip
        assert c.wait(timeout=30)["StatusCode"] == 0
        answer = client.containers.prune(filters={"label": "pypruned"})
        assert answer["ContainersDeleted"] == [c.id] and answer["SpaceReclaimed"] >= 100 * 1024
        vol = _name("pyvol")
        out = client.containers.run("busybox", ["sh", "-c", KB100.replace("/blob", "/v/blob")], remove=True,
                                    network_mode="none", volumes={vol: {"bind": "/v"}})  # fmt: skip
        assert out == b""
        answer = client.volumes.prune(filters={"label!": "keep"})  # API 1.41: every unused volume, named too
        assert vol in answer["VolumesDeleted"] and answer["SpaceReclaimed"] >= 100 * 1024
        with pytest.raises(docker.errors.APIError) as e:
            client.containers.prune(filters={"bogus": "1"})
        assert e.value.status_code == 400
    finally:
        client.close()
    assert service.docker("20.10", "rmi", f"{repo}:1").returncode == 0
