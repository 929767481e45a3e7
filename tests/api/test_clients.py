"""The real clients drive geedocker through ``geedocker system service``: Debian's docker CLI (20.10) and a newer
one (28), docker-compose 1.29 and docker-py 7, with images from the tests' local registry."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.api.conftest import CLIS, Service
from tests.support.layers import busybox_rootfs_entries, layer_tar
from tests.support.registry import push_test_image

pytestmark = [pytest.mark.root, pytest.mark.registry]

CLI_VERSIONS = [v for v, path in CLIS.items() if os.path.exists(path)]


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_run_rm_gives_output_and_exit_status(service: Service, cli: str) -> None:
    name = _name("rm")
    r = service.docker(cli, "run", "--rm", "--name", name, "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.returncode == 3, r.stderr
    assert r.stdout == "out\n" and "err\n" in r.stderr
    assert service.docker(cli, "ps", "-a", "-q", "--filter", f"name={name}").stdout == ""  # removed


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_piped_stdin_reaches_the_container(service: Service, cli: str) -> None:
    r = service.docker(cli, "run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input="hello\n")
    assert (r.returncode, r.stdout) == (0, "HELLO\n"), r.stderr


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_detached_container_ps_logs_exec_stop_rm(service: Service, cli: str) -> None:
    name = _name("d")
    r = service.docker(cli, "run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
                       "echo started; echo warn >&2; exec sleep 300")  # fmt: skip
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert len(cid) == 64
    assert name in service.docker(cli, "ps", "--format", "{{.Names}}").stdout.split()
    deadline = time.monotonic() + 10
    while "started" not in service.docker(cli, "logs", name).stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    logs = service.docker(cli, "logs", name)
    assert logs.stdout == "started\n" and logs.stderr == "warn\n"
    tail = service.docker(cli, "logs", "--tail", "1", "-t", name)
    assert tail.stdout == "" and tail.stderr.endswith("Z warn\n") and tail.stderr.startswith("20")
    r = service.docker(cli, "exec", name, "sh", "-c", "echo in-exec; exit 4")
    assert (r.returncode, r.stdout) == (4, "in-exec\n")
    assert service.docker(cli, "exec", "-i", name, "cat", input="via stdin\n").stdout == "via stdin\n"
    assert service.docker(cli, "inspect", "-f", "{{.State.Running}} {{.Name}} {{.Id}}", name).stdout == \
        f"true /{name} {cid}\n"
    r = service.docker(cli, "stop", "-t", "1", name)
    assert r.returncode == 0 and r.stdout.strip() == name
    assert service.docker(cli, "inspect", "-f", "{{.State.Status}}", name).stdout.strip() == "exited"
    r = service.docker(cli, "wait", name)
    assert r.stdout.strip() == "137", r.stderr  # sleep, as pid 1, ignores SIGTERM: killed after 1 s
    assert service.docker(cli, "rm", name).returncode == 0
    r = service.docker(cli, "inspect", name)
    assert r.returncode == 1 and "No such" in r.stderr


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_run_it_through_a_pty(service: Service, cli: str) -> None:
    if shutil.which("script") is None:
        pytest.skip("util-linux script is missing")
    cmd = f"{CLIS[cli]} run -it --rm busybox sh -c 'sleep 0.5; tty; stty size; read x; echo got-$x; exit 5'"
    r = subprocess.run(["script", "-qec", f"stty rows 31 cols 97; {cmd}", "/dev/null"], env=service.env,
                       input="abc\n", capture_output=True, text=True, timeout=60)  # fmt: skip
    out = r.stdout.replace("\r", "")
    assert r.returncode == 5, out
    assert "/dev/pts/" in out and "31 97" in out and "got-abc" in out


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_pull_images_inspect_rmi(service: Service, cli: str) -> None:
    repo = f"{service.registry.host}/api/pulled-{cli.replace('.', '')}"
    push_test_image(service.registry, repo.split("/", 1)[1], "2", [layer_tar(busybox_rootfs_entries())])
    r = service.docker(cli, "pull", f"{repo}:2")
    assert r.returncode == 0, r.stderr
    assert "Downloaded newer image" in r.stdout and "Digest: sha256:" in r.stdout
    r = service.docker(cli, "pull", f"{repo}:2")
    assert "Image is up to date" in r.stdout
    images = service.docker(cli, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert f"{repo}:2" in images and "busybox:latest" in images
    image_id = service.docker(cli, "inspect", "-f", "{{.Id}}", f"{repo}:2").stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    r = service.docker(cli, "pull", f"{repo}:missing")
    assert r.returncode != 0 and "missing" in r.stderr
    assert service.docker(cli, "rmi", f"{repo}:2").returncode == 0
    assert f"{repo}:2" not in service.docker(cli, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_network_commands_and_name_resolution(service: Service, cli: str) -> None:
    net = _name("apinet")
    assert service.docker(cli, "network", "create", net).returncode == 0
    assert net in service.docker(cli, "network", "ls", "--format", "{{.Name}}").stdout.split()
    assert service.docker(cli, "network", "inspect", "-f", "{{.Driver}}", net).stdout.strip() == "bridge"
    server = _name("srv")
    r = service.docker(cli, "run", "-d", "--name", server, "--network", net, "busybox", "sleep", "300")
    assert r.returncode == 0, r.stderr
    r = service.docker(cli, "run", "--rm", "--network", net, "busybox", "ping", "-c", "1", "-W", "3", server)
    assert r.returncode == 0 and "1 packets received" in r.stdout, r.stdout + r.stderr
    r = service.docker(cli, "network", "rm", net)
    assert r.returncode != 0  # in use
    assert service.docker(cli, "rm", "-f", server).returncode == 0
    assert service.docker(cli, "network", "rm", net).returncode == 0


def test_docker_py(service: Service) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=service.env["DOCKER_HOST"], timeout=120)
    try:
        assert client.ping() is True
        assert client.version()["ApiVersion"] == "1.41"
        img = client.images.pull(f"{service.registry.host}/api/busybox", tag="1")
        assert f"{service.registry.host}/api/busybox:1" in img.tags
        out = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], remove=True, stderr=True)
        assert out == b"out\nerr\n"
        c = client.containers.run("busybox", ["sh", "-c", "echo ready; exec sleep 300"], detach=True,
                                  network_mode="none")  # fmt: skip
        try:
            assert c.exec_run(["sh", "-c", "echo execd; exit 2"]) == (2, b"execd\n")
            deadline = time.monotonic() + 10
            while c.logs() != b"ready\n" and time.monotonic() < deadline:
                time.sleep(0.1)
            assert c.logs() == b"ready\n"
            c.reload()
            assert c.status == "running"
            c.kill()
            assert c.wait(timeout=30)["StatusCode"] == 137
        finally:
            c.remove(force=True)
        net = client.networks.create(_name("pynet"))
        assert net.name in [n.name for n in client.networks.list()]
        net.remove()
        with pytest.raises(docker.errors.ImageNotFound):
            client.containers.create("no-such-image:1")
    finally:
        client.close()


def test_compose_app(service: Service, tmp_path: Path) -> None:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is missing")
    (tmp_path / "docker-compose.yml").write_text("""
version: "3.8"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo web-up; exec sleep 300"]
    stop_grace_period: 1s
    networks: [appnet]
  client:
    image: busybox
    command: ["sh", "-c", "ping -c 1 -W 3 web && echo resolved-web; exec sleep 300"]
    stop_grace_period: 1s
    depends_on: [web]
    networks: [appnet]
networks:
  appnet: {}
""")
    project = _name("gdc").replace("-", "")

    def compose(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker-compose", "-p", project, *args], cwd=tmp_path, env=service.env,
                              capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)  # fmt: skip

    try:
        r = compose("up", "-d")
        assert r.returncode == 0, r.stderr
        ps = compose("ps")
        assert f"{project}_web_1" in ps.stdout and f"{project}_client_1" in ps.stdout and ps.stdout.count(" Up") == 2
        deadline = time.monotonic() + 20
        while "resolved-web" not in compose("logs", "client").stdout and time.monotonic() < deadline:
            time.sleep(0.2)
        logs = compose("logs").stdout
        assert "resolved-web" in logs and "web-up" in logs
        r = compose("exec", "-T", "web", "sh", "-c", "echo exec-ok")
        assert (r.returncode, r.stdout) == (0, "exec-ok\n")
    finally:
        r = compose("down", "-v")
    assert r.returncode == 0, r.stderr
    names = service.docker("20.10", "ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert not [n for n in names if n.startswith(project)]
    assert f"{project}_appnet" not in service.docker("20.10", "network", "ls", "--format", "{{.Name}}").stdout


def _raw(service: Service, request: bytes) -> bytes:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(str(service.sock))
    s.sendall(request)
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    return data


def test_bad_requests_create_nothing_and_the_service_keeps_serving(service: Service) -> None:
    before = service.docker("20.10", "ps", "-a", "-q").stdout
    for body in (b'{"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}',
                 b'{"Image": "busybox", "Cmd": ["true"], "Nonsense": 1}', b'{"Image": "busybox",',
                 b'{"Image": "busybox", "HostConfig": {"Binds": ["no/such/dir:/x"]}}'):  # fmt: skip
        # (a relative source is a volume name, and that one is invalid; a missing absolute one is made, as dockerd)
        answer = _raw(service, b"POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["message"]
    assert service.docker("20.10", "ps", "-a", "-q").stdout == before  # nothing half-created
    # a client that goes away in the middle of a followed log stream
    name = _name("f")
    service.docker("20.10", "run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
                   "while true; do echo tick; sleep 0.1; done")  # fmt: skip
    p = subprocess.Popen(["/usr/bin/docker", "logs", "-f", name], env=service.env, stdout=subprocess.PIPE)
    assert p.stdout is not None and p.stdout.readline() == b"tick\n"
    p.kill()
    p.wait()
    assert service.docker("20.10", "rm", "-f", name).returncode == 0
    assert _raw(service, b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").endswith(b"OK")


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_diff_export_commit(service: Service, cli: str, tmp_path: Path) -> None:
    name = _name("fs")
    r = service.docker(cli, "run", "--name", name, "--network", "none", "busybox", "sh", "-c",
                       "echo made > /new.txt; rm /etc/passwd")  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = service.docker(cli, "diff", name).stdout.splitlines()
    assert "A /new.txt" in lines and "D /etc/passwd" in lines
    out = tmp_path / "fs.tar"
    assert service.docker(cli, "export", "-o", str(out), name).returncode == 0
    import tarfile

    with tarfile.open(out) as tf:
        names = tf.getnames()
        assert "new.txt" in names and "etc/passwd" not in names and "bin/busybox" in names
    image = f"committed-{cli.replace('.', '')}:1"
    r = service.docker(cli, "commit", "-c", "CMD [\"cat\", \"/new.txt\"]", name, image)
    assert r.returncode == 0 and r.stdout.strip().startswith("sha256:"), r.stderr
    r = service.docker(cli, "run", "--rm", "--network", "none", image)
    assert (r.returncode, r.stdout) == (0, "made\n"), r.stderr
    assert service.docker(cli, "rm", name).returncode == 0
    assert service.docker(cli, "rmi", image).returncode == 0


def test_pause_top_rename(service: Service) -> None:
    name, new = _name("p"), _name("renamed")
    r = service.docker("20.10", "run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "300")
    assert r.returncode == 0, r.stderr
    top = service.docker("20.10", "top", name)
    assert top.returncode == 0 and "sleep 300" in top.stdout, top.stderr
    assert service.docker("20.10", "pause", name).returncode == 0
    assert service.docker("20.10", "inspect", "-f", "{{.State.Status}}", name).stdout.strip() == "paused"
    assert service.docker("20.10", "unpause", name).returncode == 0
    assert service.docker("20.10", "rename", name, new).returncode == 0
    assert service.docker("20.10", "inspect", "-f", "{{.Name}}", new).stdout.strip() == f"/{new}"
    assert service.docker("20.10", "rm", "-f", new).returncode == 0
