"""testcontainers-python drives geedocker through ``geedocker system service`` unchanged: a ``DockerContainer``
with a command and an exposed port starts, its log is waited for, its published port answers a real TCP
connection, exec works, and it is gone once stopped.

Ryuk (testcontainers' reaper) is disabled: its image comes from Docker Hub, out of reach of the tests. This
machine is itself a container (``/.dockerenv``), which testcontainers takes for docker-in-docker and answers
with the default route's gateway (another machine) as the containers' host; the tests name the host as it is
(``TESTCONTAINERS_HOST_OVERRIDE``) and check both of testcontainers' ways to reach a published port from it:
``docker_host`` (the host's address, the mode of a client on the engine's own machine) and ``gateway_ip`` (the
container network's gateway, read from inspect).
"""

from __future__ import annotations

import secrets
import socket
import time

import pytest

from tests.api.conftest import Service

pytestmark = [pytest.mark.root, pytest.mark.registry]


@pytest.fixture
def testcontainers(service: Service, monkeypatch: pytest.MonkeyPatch) -> object:
    pytest.importorskip("testcontainers")
    from testcontainers.core.config import testcontainers_config

    monkeypatch.setenv("DOCKER_HOST", service.env["DOCKER_HOST"])  # read by each DockerClient it makes
    monkeypatch.delenv("DOCKER_API_VERSION", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", service.env["DOCKER_CONFIG"])
    # the configuration is read once, when testcontainers is imported: set on the object it made
    monkeypatch.setattr(testcontainers_config, "ryuk_disabled", True)
    monkeypatch.setattr(testcontainers_config, "tc_host_override", "127.0.0.1")
    return testcontainers_config


def _talk(host: str, port: int, line: bytes) -> bytes:
    """Send ``line`` to host:port and read the answer until the other side closes (retried while the server
    in the container is not listening yet)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection((host, port), timeout=10) as s:
                s.sendall(line)
                s.shutdown(socket.SHUT_WR)
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
                if data or time.monotonic() > deadline:
                    return data
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


# testcontainers deprecates wait_for_logs, but it is what most suites call
@pytest.mark.filterwarnings("ignore:The wait_for_logs function:DeprecationWarning")
@pytest.mark.parametrize("mode", ["docker_host", "gateway_ip"])
def test_docker_container_start_logs_port_exec_stop(service: Service, testcontainers: object, mode: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from testcontainers.core.config import ConnectionMode
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    monkeypatch.setattr(testcontainers, "connection_mode_override", ConnectionMode(mode))
    name = f"tc-{secrets.token_hex(3)}"
    # one answer per connection: nc exits after a client, the loop listens again
    script = "echo serving; while true; do echo pong-$((6*7)) | nc -l -p 8080; done"
    container = DockerContainer("busybox:latest").with_command(["sh", "-c", script]).with_exposed_ports(8080)
    container.with_name(name).with_env("GREETING", "hello")
    with container:
        wait_for_logs(container, "serving", timeout=30)
        host, port = container.get_container_host_ip(), container.get_exposed_port(8080)
        inspect = container.get_wrapped_container().attrs
        assert int(inspect["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]) == port
        if mode == "gateway_ip":
            assert host == inspect["NetworkSettings"]["Networks"]["bridge"]["Gateway"] != ""
        else:
            assert host == "127.0.0.1"
        assert _talk(host, port, b"ping\n") == b"pong-42\n"
        code, out = container.exec(["sh", "-c", "echo $GREETING from exec; exit 3"])
        assert (code, out) == (3, b"hello from exec\n")
        stdout, stderr = container.get_logs()
        assert stdout.startswith(b"serving\n") and stderr == b""
        cid = container.get_container_id()
        assert container.get_wrapped_container().labels["org.testcontainers"] == "true"
    assert service.geedocker("inspect", cid).returncode == 1  # stop() removed it
    assert name not in service.geedocker("ps", "-a", "--format", "{{.Names}}").stdout.split()


def test_network_alias_and_wait_strategies(service: Service, testcontainers: object) -> None:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy, PortWaitStrategy

    with Network() as net:
        net_name = net.name
        serve = "exec nc -ll -p 80 -e sed s/^/hi-/"  # each connection: its line back, prefixed
        server = (DockerContainer("busybox:latest").with_command(["sh", "-c", serve])
                  .with_network(net).with_network_aliases("srv").with_exposed_ports(80)
                  .waiting_for(PortWaitStrategy(80)))  # fmt: skip
        with server:
            assert _talk(server.get_container_host_ip(), server.get_exposed_port(80), b"x\n") == b"hi-x\n"
            client = (DockerContainer("busybox:latest").with_command(["sh", "-c", "echo ready; exec sleep 300"])
                      .with_network(net).waiting_for(LogMessageWaitStrategy("ready")))  # fmt: skip
            with client:
                code, out = client.exec(["sh", "-c", "echo y | nc srv 80"])  # the alias, from another member
                assert (code, out) == (0, b"hi-y\n")
    assert net_name not in service.geedocker("network", "ls", "--format", "{{.Name}}").stdout.split()
