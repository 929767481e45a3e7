"""Attaching through the API to a container that already runs (``api.monitor_attach``): the clients' input
reaches it, its output comes back in docker's framing (raw with a TTY), the detach keys leave it running and
``resize`` sizes its terminal; with both docker CLIs and docker-py, as dockerd 20.10 does."""

from __future__ import annotations

import os
import secrets
import select
import shutil
import socket
import subprocess
import time

import pytest

from tests.api.conftest import CLIS, Service

pytestmark = [pytest.mark.root, pytest.mark.registry]

CLI_VERSIONS = [v for v, path in CLIS.items() if os.path.exists(path)]


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def _running(service: Service, name: str) -> str:
    return service.geedocker("inspect", "-f", "{{.State.Running}}", name).stdout.strip()


def _read_until(fd: int, want: bytes, seen: bytearray, timeout: float = 20) -> bytes:
    """Read ``fd`` into ``seen`` until ``want`` is in it; what was read (an AssertionError at the deadline)."""
    deadline = time.monotonic() + timeout
    while want not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{want!r} not seen in {bytes(seen)!r}"
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 65536)
            assert chunk, f"EOF before {want!r}: {bytes(seen)!r}"
            seen += chunk
    return bytes(seen)


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_attach_pipes_input_to_a_running_interactive_container(service: Service, cli: str) -> None:
    name = _name("ai")
    r = service.docker(cli, "run", "-di", "--name", name, "--network", "none", "busybox", "sh")
    assert r.returncode == 0, r.stderr
    try:
        r = service.docker(cli, "attach", name, input="echo out-$((6*7)); echo err >&2; exit 3\n", timeout=60)
        assert (r.returncode, r.stdout, r.stderr) == (3, "out-42\n", "err\n")
        assert service.docker(cli, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name).stdout == \
            "exited 3\n"
    finally:
        service.geedocker("rm", "-f", name)


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_attach_through_a_pty_types_resizes_and_detaches(service: Service, cli: str) -> None:
    if shutil.which("script") is None:
        pytest.skip("util-linux script is missing")
    name = _name("at")
    r = service.docker(cli, "run", "-dit", "--name", name, "--network", "none", "busybox", "sh")
    assert r.returncode == 0, r.stderr
    p = subprocess.Popen(["script", "-qec", f"stty rows 31 cols 97; {CLIS[cli]} attach {name}", "/dev/null"],
                         env=service.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    assert p.stdin is not None and p.stdout is not None
    try:
        seen = bytearray()
        p.stdin.write(b"echo typed-$((6*7))\n")
        p.stdin.flush()
        _read_until(p.stdout.fileno(), b"typed-42", seen)
        p.stdin.write(b"stty size\n")  # the CLI's resize (its terminal's size) reached the container's terminal
        p.stdin.flush()
        _read_until(p.stdout.fileno(), b"31 97", seen)
        p.stdin.write(b"\x10\x11")  # ctrl-p ctrl-q
        p.stdin.flush()
        assert p.wait(30) == 1
        assert b"read escape sequence" in seen + p.stdout.read()
        assert _running(service, name) == "true"
        # attached again, it still answers: the detach left its terminal and its shell as they were
        r = subprocess.run(["script", "-qec", f"{CLIS[cli]} attach {name}", "/dev/null"], env=service.env,
                           input=b"exit 6\n", capture_output=True, timeout=60)  # fmt: skip
        assert r.returncode == 6, r.stdout
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        service.geedocker("rm", "-f", name)


def _recv_until(sock: socket.socket, want: bytes, timeout: float = 20) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while want not in data:
        chunk = sock.recv(65536)
        assert chunk, f"EOF before {want!r}: {data!r}"
        data += chunk
    return data


def test_docker_py_attach_socket(service: Service) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=service.env["DOCKER_HOST"], timeout=120)
    params = {"stdin": 1, "stream": 1, "stdout": 1, "stderr": 1}
    try:
        c = client.containers.run("busybox", ["sh"], detach=True, tty=True, stdin_open=True, network_mode="none")
        try:
            sock = c.attach_socket(params=params)._sock
            sock.sendall(b"echo typed-$((6*7))\n")
            assert b"\r\ntyped-42\r\n" in _recv_until(sock, b"typed-42\r\n")  # a terminal's output: raw, CRLF
            sock.sendall(b"\x10\x11")
            sock.settimeout(20)
            while sock.recv(65536):  # the detach keys end the stream ...
                pass
            sock.close()
            c.reload()
            assert c.status == "running"  # ... and leave the container running
            # other keys (docker's syntax), and what precedes them in the same write still reaches the shell
            sock = c.attach_socket(params={**params, "detachKeys": "ctrl-a,x"})._sock
            sock.sendall(b"touch /detached\n\x01x")
            sock.settimeout(20)
            while sock.recv(65536):
                pass
            sock.close()
            deadline = time.monotonic() + 10
            while c.exec_run(["ls", "/detached"]).exit_code != 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert c.exec_run(["ls", "/detached"]).exit_code == 0
            c.reload()
            assert c.status == "running"
        finally:
            c.remove(force=True)
        # without a terminal: framed output, one frame a stream; no detach keys (dockerd's rule)
        c = client.containers.run("busybox", ["sh"], detach=True, stdin_open=True, network_mode="none")
        try:
            sock = c.attach_socket(params=params)._sock
            sock.sendall(b": \x10\x11; echo out-$((6*7)); echo err >&2\n")
            data = _recv_until(sock, b"out-42\n")
            data += _recv_until(sock, b"err\n") if b"err\n" not in data else b""
            assert data in (b"\x01\0\0\0\0\0\0\x07out-42\n\x02\0\0\0\0\0\0\x04err\n",
                            b"\x02\0\0\0\0\0\0\x04err\n\x01\0\0\0\0\0\0\x07out-42\n")  # fmt: skip
            sock.sendall(b"exit 4\n")
            sock.settimeout(20)
            assert sock.recv(65536) == b""  # the container's exit ends the stream
            sock.close()
            assert c.wait(timeout=30)["StatusCode"] == 4
        finally:
            c.remove(force=True)
    finally:
        client.close()


def test_bad_detach_keys_are_a_400(service: Service) -> None:
    name = _name("ak")
    assert service.docker("20.10", "run", "-dit", "--name", name, "--network", "none", "busybox", "sh").returncode == 0
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(str(service.sock))
        s.sendall(f"POST /v1.41/containers/{name}/attach?stream=1&stdin=1&detachKeys=ctrl-ab HTTP/1.1\r\n"
                  "Host: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".encode())  # fmt: skip
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        s.close()
        assert data.startswith(b"HTTP/1.1 400") and b"Invalid detach keys (ctrl-ab) provided" in data, data
        assert _running(service, name) == "true"
    finally:
        service.geedocker("rm", "-f", name)


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_run_it_detaches_with_its_detach_keys(service: Service, cli: str) -> None:
    if shutil.which("script") is None:
        pytest.skip("util-linux script is missing")
    name = _name("rd")
    cmd = f"{CLIS[cli]} run -it --name {name} --network none --detach-keys ctrl-a,x busybox sh"
    p = subprocess.Popen(["script", "-qec", cmd, "/dev/null"], env=service.env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)  # fmt: skip
    assert p.stdin is not None and p.stdout is not None
    try:
        seen = bytearray()
        p.stdin.write(b"echo typed-$((6*7))\n")
        p.stdin.flush()
        _read_until(p.stdout.fileno(), b"typed-42", seen)
        p.stdin.write(b"\x10\x11echo still-$((1+1))\n")  # the default keys are not these: the stream goes on
        p.stdin.flush()
        _read_until(p.stdout.fileno(), b"still-2", seen)
        p.stdin.write(b"\x01x")
        p.stdin.flush()
        p.wait(30)
        assert _running(service, name) == "true"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        service.geedocker("rm", "-f", name)
