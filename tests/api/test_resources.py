"""``/containers/{id}/update`` and ``/containers/{id}/stats`` through the real clients: ``docker update`` and
``docker stats --no-stream`` with docker's CLIs 20.10 and 28, docker-py's ``stats`` (one object, one-shot,
a stream), and what cannot be done."""

from __future__ import annotations

import itertools
import os
import secrets
import time

import pytest

from geedocker.containers import stats
from geedocker.containers.store import ContainerStore
from tests.api.conftest import CLIS, Service

pytestmark = [pytest.mark.root, pytest.mark.registry]

CLI_VERSIONS = [v for v, path in CLIS.items() if os.path.exists(path)]


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_docker_update_and_stats(service: Service, cli: str) -> None:
    name = _name("upd")
    r = service.docker(cli, "run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "300")
    assert r.returncode == 0, r.stderr
    try:
        r = service.docker(cli, "update", "--memory", "64m", "--memory-swap", "200m", "--cpus", "0.5",
                           "--cpu-shares", "512", "--pids-limit", "50", "--restart", "on-failure:3", name)  # fmt: skip
        assert r.returncode == 0 and r.stdout.strip() == name, r.stderr
        fmt = ("{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} "
               "{{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}} "
               "{{.HostConfig.RestartPolicy.MaximumRetryCount}}")  # fmt: skip
        r = service.docker(cli, "inspect", "-f", fmt, name)
        assert r.stdout.split() == [str(64 << 20), str(200 << 20), "500000000", "512", "50", "on-failure", "3"]
        rec = ContainerStore(service.layout).resolve(name)
        assert stats.sample(rec).mem_limit == 64 << 20  # the live cgroup took it
        # a second update changes what it names only
        assert service.docker(cli, "update", "--memory", "96m", name).returncode == 0
        r = service.docker(cli, "inspect", "-f", fmt, name)
        assert r.stdout.split()[:4] == [str(96 << 20), str(200 << 20), "500000000", "512"]
        r = service.docker(cli, "events", "--since", "1m", "--until", f"{time.time():.9f}", "--filter",
                           f"container={name}", "--filter", "event=update", "--format", "{{.Action}}")  # fmt: skip
        assert r.stdout.split() == ["update", "update"], r.stderr  # an event per update, as dockerd's
        r = service.docker(cli, "update", "--cpuset-cpus", "0", name)
        assert r.returncode == 1 and "CpusetCpus" in r.stderr and "not supported" in r.stderr
        r = service.docker(cli, "update", "--memory", "64m", "no-such-box")
        assert r.returncode == 1 and "No such container" in r.stderr
        r = service.docker(cli, "stats", "--no-stream", "--format",
                           "{{.Name}} {{.MemUsage}} {{.PIDs}} {{.CPUPerc}}", name)  # fmt: skip
        assert r.returncode == 0, r.stderr
        got = r.stdout.split()
        assert got[0] == name and got[2:4] == ["/", "96MiB"] and got[4] == "1" and got[5].endswith("%"), got
        # every running container: the CLI lists them and follows /events meanwhile
        r = service.docker(cli, "stats", "--no-stream", "--format", "{{.Name}}", timeout=60)
        assert r.returncode == 0 and name in r.stdout.split(), r.stderr
    finally:
        service.docker(cli, "rm", "-f", name)


def test_docker_py_stats(service: Service) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=service.env["DOCKER_HOST"], timeout=60)
    c = client.containers.run("busybox", ["sh", "-c", "while :; do :; done"], detach=True, network_mode="none",
                              mem_limit="32m")  # fmt: skip
    try:
        started = time.monotonic()
        s = c.stats(stream=False)
        assert time.monotonic() - started >= 0.9  # two samples a second apart
        assert s["id"] == c.id and s["name"] == "/" + c.name
        cpu, pre = s["cpu_stats"], s["precpu_stats"]
        assert cpu["cpu_usage"]["total_usage"] > pre["cpu_usage"]["total_usage"] > 0
        assert cpu["system_cpu_usage"] > pre["system_cpu_usage"] > 0 and cpu["online_cpus"] >= 1
        percent = (cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]) / \
            (cpu["system_cpu_usage"] - pre["system_cpu_usage"]) * cpu["online_cpus"] * 100
        assert percent > 20  # a busy loop
        assert s["memory_stats"]["limit"] == 32 << 20 and 0 < s["memory_stats"]["usage"] <= 32 << 20
        assert s["pids_stats"]["current"] == 1 and s["read"].endswith("Z") and "networks" not in s
        assert {e["op"] for e in s["blkio_stats"]["io_service_bytes_recursive"]} == {"Read", "Write"}
        one = client.api.stats(c.id, stream=False, one_shot=True)
        assert "system_cpu_usage" not in one["precpu_stats"] and one["cpu_stats"]["system_cpu_usage"] > 0
        first, second = itertools.islice(client.api.stats(c.id, decode=True, stream=True), 2)
        assert second["precpu_stats"] == first["cpu_stats"] and second["preread"] == first["read"]
        c.kill()
        c.wait(timeout=30)
        s = c.stats(stream=False)
        assert s["memory_stats"] == {} and s["cpu_stats"]["cpu_usage"]["total_usage"] == 0 and s["name"] == "/" + c.name
        assert "system_cpu_usage" not in s["cpu_stats"] and s["blkio_stats"]["io_service_bytes_recursive"] is None
    finally:
        c.remove(force=True)
        client.close()
