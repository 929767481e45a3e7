"""``POST /containers/create`` with the settings docker's clients send for ``--restart``, ``--log-opt``,
``--health-*``, ``--cpu-shares``, ``--device`` and ``--cidfile``: both docker CLIs, docker-py and a compose file."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import CLIS, Service

pytestmark = [pytest.mark.root, pytest.mark.registry]

CLI_VERSIONS = [v for v, path in CLIS.items() if os.path.exists(path)]


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def _until(what: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := what()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return got


def _inspect(service: Service, name: str) -> dict[str, Any]:
    r = service.docker("20.10", "inspect", name)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_restart_policy_restarts_through_the_api(service: Service, cli: str) -> None:
    name = _name("rs")
    r = service.docker(cli, "run", "-d", "--name", name, "--network", "none", "--restart", "on-failure:2",
                       "busybox", "sh", "-c", "exit 3")  # fmt: skip
    assert r.returncode == 0, r.stderr
    try:
        done = _until(lambda: (d := _inspect(service, name))["RestartCount"] == 2 and
                      d["State"]["Status"] == "exited" and d)  # fmt: skip
        assert done, _inspect(service, name)["State"]
        assert done["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
        assert done["State"]["ExitCode"] == 3
    finally:
        service.docker(cli, "rm", "-f", name)


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_health_log_cpu_shares_device_and_cidfile(service: Service, cli: str, tmp_path: Path) -> None:
    name = _name("hc")
    cidfile = tmp_path / "cid"
    r = service.docker(cli, "run", "-d", "--name", name, "--network", "none", "--cidfile", str(cidfile),
                       "--health-cmd", "test -c /dev/mynull", "--health-interval", "300ms", "--health-retries", "2",
                       "--log-opt", "max-size=1k", "--log-opt", "max-file=2", "--cpu-shares", "512",
                       "--device", "/dev/null:/dev/mynull:rw", "busybox", "sleep", "300")  # fmt: skip
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    try:
        assert cidfile.read_text() == cid  # the client writes it, as with dockerd
        assert _until(lambda: _inspect(service, name)["State"]["Health"]["Status"] == "healthy")
        d = _inspect(service, name)
        assert d["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "test -c /dev/mynull"], "Interval": 300_000_000,
                                              "Retries": 2}  # fmt: skip
        host = d["HostConfig"]
        assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "2", "max-size": "1k"}}
        assert host["CpuShares"] == 512 and host["ContainerIDFile"] == str(cidfile)
        assert host["Devices"] == [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                                    "CgroupPermissions": "rw"}]  # fmt: skip
        r = service.docker(cli, "exec", name, "sh", "-c", "echo x > /dev/mynull && echo wrote")
        assert r.stdout == "wrote\n", r.stderr
    finally:
        service.docker(cli, "rm", "-f", name)


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_no_healthcheck_and_log_driver_none(service: Service, cli: str) -> None:
    name = _name("nh")
    r = service.docker(cli, "create", "--name", name, "--no-healthcheck", "--log-driver", "none", "busybox", "true")
    assert r.returncode == 0, r.stderr
    d = _inspect(service, name)
    assert d["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    assert d["HostConfig"]["LogConfig"] == {"Type": "none", "Config": {}}
    assert service.docker(cli, "rm", name).returncode == 0


@pytest.mark.parametrize("cli", CLI_VERSIONS)
@pytest.mark.parametrize(("flags", "message"), [
    (["--restart", "sometimes"], "invalid restart policy 'sometimes'"),
    (["--log-opt", "bogus=1"], "unknown log opt 'bogus' for json-file log driver"),
    (["--log-driver", "syslog"], "logging driver 'syslog' is not supported by geedocker"),
    (["--health-cmd", "true", "--health-interval", "10us"], "Interval in Healthcheck cannot be less than 1ms"),
    (["--device", "/etc/passwd"], "adding custom device \"/etc/passwd\": not a device node"),
])  # fmt: skip
def test_refused_settings_are_the_daemons_errors(service: Service, cli: str, flags: list[str], message: str) -> None:
    before = service.docker(cli, "ps", "-aq").stdout
    r = service.docker(cli, "run", "-d", *flags, "busybox", "true")
    assert r.returncode == 125 and "Error response from daemon: " in r.stderr and message in r.stderr, r.stderr
    assert service.docker(cli, "ps", "-aq").stdout == before


def test_docker_py_restart_health_log_config(service: Service) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=service.env["DOCKER_HOST"], timeout=120)
    c = None
    try:
        c = client.containers.run(
            "busybox", ["sleep", "300"], detach=True, network_mode="none", cpu_shares=256,
            restart_policy={"Name": "always"}, devices=["/dev/null:/dev/pynull:rwm"],
            healthcheck={"test": ["CMD", "true"], "interval": 300_000_000, "retries": 1},
            log_config=docker.types.LogConfig(type="json-file", config={"max-size": "10m"}),
        )  # fmt: skip
        assert _until(lambda: (c.reload(), c.attrs["State"]["Health"]["Status"] == "healthy")[1])
        host = c.attrs["HostConfig"]
        assert host["RestartPolicy"]["Name"] == "always" and host["CpuShares"] == 256
        assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10m"}}
        assert c.exec_run(["test", "-c", "/dev/pynull"]).exit_code == 0
        with pytest.raises(docker.errors.APIError) as e:
            client.containers.create("busybox", restart_policy={"Name": "always", "MaximumRetryCount": 2})
        assert e.value.status_code == 400
        assert "maximum retry count cannot be used with restart policy 'always'" in str(e.value)
    finally:
        if c is not None:
            c.remove(force=True)
        client.close()


def test_compose_restart_healthcheck_logging(service: Service, tmp_path: Path) -> None:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is missing")
    (tmp_path / "docker-compose.yml").write_text("""
version: "3.8"
services:
  app:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 1s
    network_mode: none
    restart: unless-stopped
    healthcheck:
      test: ["CMD-SHELL", "true"]
      interval: 300ms
      timeout: 5s
      retries: 2
      start_period: 1s
    logging:
      driver: json-file
      options:
        max-size: "2m"
        max-file: "3"
""")
    project = _name("gdh").replace("-", "")

    def compose(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker-compose", "-p", project, *args], cwd=tmp_path, env=service.env,
                              capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)  # fmt: skip

    try:
        r = compose("up", "-d")
        assert r.returncode == 0, r.stderr
        name = f"{project}_app_1"
        assert _until(lambda: _inspect(service, name)["State"]["Health"]["Status"] == "healthy")
        d = _inspect(service, name)
        assert d["HostConfig"]["RestartPolicy"] == {"Name": "unless-stopped", "MaximumRetryCount": 0}
        assert d["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "2m"}}
        assert d["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 300_000_000,
                                              "Timeout": 5_000_000_000, "Retries": 2,
                                              "StartPeriod": 1_000_000_000}  # fmt: skip
        assert "(healthy)" in compose("ps").stdout
    finally:
        r = compose("down")
    assert r.returncode == 0, r.stderr
