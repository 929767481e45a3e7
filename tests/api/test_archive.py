"""``/containers/{id}/archive`` (HEAD, GET, PUT) through the real clients: ``docker cp`` both ways with docker's
CLIs 20.10 and 28 on a running and a stopped container, docker-py's ``get_archive``/``put_archive``, and docker's
status codes for what cannot be done."""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import socket
import subprocess
import tarfile
from pathlib import Path

import pytest

from geedocker.api.archive import go_mode, rfc3339_nano
from tests.api.conftest import CLIS, Service

pytestmark = [pytest.mark.root, pytest.mark.registry]

CLI_VERSIONS = [v for v, path in CLIS.items() if os.path.exists(path)]


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def test_go_file_modes_and_times() -> None:
    assert go_mode(0o040755) == (1 << 31) | 0o755  # a directory: os.ModeDir
    assert go_mode(0o100644) == 0o644
    assert go_mode(0o120777) == (1 << 27) | 0o777  # os.ModeSymlink
    assert go_mode(0o020620) == (1 << 26) | (1 << 21) | 0o620  # a character device
    assert go_mode(0o104755) == (1 << 23) | 0o755  # setuid
    assert rfc3339_nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert rfc3339_nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


def _raw(service: Service, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(service.sock))
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _unchunk(body: bytes) -> bytes:
    """A chunked HTTP body's data."""
    out = b""
    while body:
        size_text, _, rest = body.partition(b"\r\n")
        size = int(size_text, 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


def _container(service: Service, cli: str, running: bool) -> str:
    name = _name("cp")
    args = ("run", "-d") if running else ("create",)
    r = service.docker(cli, *args, "--name", name, "--network", "none", "busybox", "sleep", "300")
    assert r.returncode == 0, r.stderr
    return name


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_docker_cp_both_ways(service: Service, cli: str, running: bool, tmp_path: Path) -> None:
    name = _container(service, cli, running)
    host = tmp_path / "host"
    (host / "dir" / "sub").mkdir(parents=True)
    (host / "dir" / "sub" / "deep.txt").write_text("deep\n")
    (host / "dir" / "top.txt").write_text("top\n")
    (host / "file.txt").write_text("a file\n")
    os.chmod(host / "file.txt", 0o640)
    try:
        # a file into an existing directory, a directory to a new path
        r = service.docker(cli, "cp", str(host / "file.txt"), f"{name}:/tmp")
        assert r.returncode == 0, r.stderr
        r = service.docker(cli, "cp", str(host / "dir"), f"{name}:/data")
        assert r.returncode == 0, r.stderr
        # and back
        back = tmp_path / "back"
        back.mkdir()
        r = service.docker(cli, "cp", f"{name}:/tmp/file.txt", str(back / "copied.txt"))
        assert r.returncode == 0, r.stderr
        assert (back / "copied.txt").read_text() == "a file\n"
        assert os.stat(back / "copied.txt").st_mode & 0o777 == 0o640
        r = service.docker(cli, "cp", f"{name}:/data", str(back))
        assert r.returncode == 0, r.stderr
        assert (back / "data" / "sub" / "deep.txt").read_text() == "deep\n"
        assert (back / "data" / "top.txt").read_text() == "top\n"
        r = service.docker(cli, "cp", f"{name}:/data/.", str(back / "content"))
        assert r.returncode == 0, r.stderr
        assert sorted(os.listdir(back / "content")) == ["sub", "top.txt"]
        # a tar stream out and in ("-")
        out = subprocess.run([CLIS[cli], "cp", f"{name}:/data", "-"], env=service.env, capture_output=True,
                             timeout=60)  # fmt: skip
        assert out.returncode == 0, out.stderr
        with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tf:
            assert sorted(tf.getnames()) == ["data", "data/sub", "data/sub/deep.txt", "data/top.txt"]
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            info = tarfile.TarInfo("streamed.txt")
            info.size = 9
            tf.addfile(info, io.BytesIO(b"streamed\n"))
        r2 = subprocess.run([CLIS[cli], "cp", "-", f"{name}:/tmp"], env=service.env, input=buf.getvalue(),
                            capture_output=True, timeout=60)  # fmt: skip
        assert r2.returncode == 0, r2.stderr
        out = subprocess.run([CLIS[cli], "cp", f"{name}:/tmp/streamed.txt", "-"], env=service.env,
                             capture_output=True, timeout=60)  # fmt: skip
        with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tf:
            f = tf.extractfile("streamed.txt")
            assert f is not None and f.read() == b"streamed\n"
        if running:  # the running container sees what was copied in
            r = service.docker(cli, "exec", name, "cat", "/tmp/file.txt", "/data/sub/deep.txt", "/tmp/streamed.txt")
            assert r.stdout == "a file\ndeep\nstreamed\n", r.stderr
        # a missing path: exit 1, and the CLI's error (20.10 names the path; 28 prints the daemon's message)
        r = service.docker(cli, "cp", f"{name}:/no/such", str(back))
        expected = f"No such container:path: {name}:/no/such" if cli == "20.10" else \
            f"Could not find the file /no/such in container {name}"
        assert r.returncode == 1 and expected in r.stderr, r.stderr
        # a directory onto a file: refused by the CLI, from the stat it gets
        r = service.docker(cli, "cp", str(host / "dir"), f"{name}:/tmp/file.txt")
        assert r.returncode == 1 and "cannot copy directory" in r.stderr, r.stderr
    finally:
        service.docker(cli, "rm", "-f", name)


def test_docker_py_get_and_put_archive(service: Service) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=service.env["DOCKER_HOST"], timeout=120)
    c = client.containers.create("busybox", ["sleep", "300"], network_mode="none")
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            d = tarfile.TarInfo("put")
            d.type, d.mode = tarfile.DIRTYPE, 0o750
            tf.addfile(d)
            f = tarfile.TarInfo("put/hello.txt")
            f.size, f.uid, f.gid, f.mtime = 6, 1234, 99, 1_600_000_000
            tf.addfile(f, io.BytesIO(b"hello\n"))
        assert c.put_archive("/tmp", buf.getvalue()) is True
        stream, st = c.get_archive("/tmp/put/hello.txt")
        assert st["name"] == "hello.txt" and st["size"] == 6 and st["mode"] == 0o644
        assert st["mtime"] == "2020-09-13T12:26:40Z" and st["linkTarget"] == ""
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tf:
            (m,) = tf.getmembers()
            assert (m.name, m.uid, m.gid) == ("hello.txt", 1234, 99)  # the archive's owners are kept
        _, st = c.get_archive("/tmp/put")
        assert st["mode"] == (1 << 31) | 0o750
        stream, st = c.get_archive("/")  # the whole tree, named as dockerd names it
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tf:
            names = tf.getnames()
        assert st["name"] == "/" and names[0] == "" and "/bin/busybox" in names and "/tmp/put/hello.txt" in names
        _, st = c.get_archive("/bin/sh")  # busybox's sh is a symlink; the stat says where it leads
        assert st["mode"] & (1 << 27) and st["linkTarget"] == "/bin/busybox"
        with pytest.raises(docker.errors.NotFound):
            c.get_archive("/no/such")
        with pytest.raises(docker.errors.NotFound):
            c.put_archive("/no/such", buf.getvalue())
        with pytest.raises(docker.errors.APIError) as e:
            c.put_archive("/tmp/put/hello.txt", buf.getvalue())
        assert e.value.status_code == 400 and "not a directory" in str(e.value)
    finally:
        c.remove(force=True)
        client.close()


def test_status_codes_and_the_stat_header(service: Service, tmp_path: Path) -> None:
    name = _name("ro")
    r = service.docker("20.10", "create", "--name", name, "--read-only", "--network", "none", "busybox", "true")
    assert r.returncode == 0, r.stderr
    try:
        status, headers, _ = _raw(service, f"HEAD /v1.41/containers/{name}/archive?path=/etc HTTP/1.1\r\n"
                                           "Host: x\r\nConnection: close\r\n\r\n".encode())  # fmt: skip
        assert status == 200
        st = json.loads(base64.b64decode(headers["x-docker-container-path-stat"]))
        assert st["name"] == "etc" and st["mode"] & (1 << 31) and st["mtime"].endswith("Z")
        status, _, body = _raw(service, f"GET /containers/{name}/archive HTTP/1.1\r\nHost: x\r\n"
                                        "Connection: close\r\n\r\n".encode())  # fmt: skip
        assert status == 400 and b"path" in body
        status, _, body = _raw(service, b"GET /containers/no-such-box/archive?path=/ HTTP/1.1\r\nHost: x\r\n"
                                        b"Connection: close\r\n\r\n")  # fmt: skip
        assert status == 404 and b"No such container" in body
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as tf:
            tf.addfile(tarfile.TarInfo("x"), io.BytesIO(b""))
        data = tar.getvalue()
        status, _, body = _raw(service, f"PUT /containers/{name}/archive?path=/tmp HTTP/1.1\r\nHost: x\r\n"
                                        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
        assert status == 403 and b"read-only" in body, body
    finally:
        service.docker("20.10", "rm", "-f", name)
    name = _name("kinds")
    r = service.docker("20.10", "create", "--name", name, "--user", "4321:77", "--network", "none", "busybox", "true")
    assert r.returncode == 0, r.stderr
    try:
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as tf:
            tf.addfile(tarfile.TarInfo("bin"), io.BytesIO(b""))  # a file where /bin is a directory
        data = tar.getvalue()
        req = (f"PUT /containers/{name}/archive?path=/&noOverwriteDirNonDir=1 HTTP/1.1\r\nHost: x\r\n"
               f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data  # fmt: skip
        status, _, body = _raw(service, req)
        assert status == 400 and b"cannot overwrite directory" in body, body
        r = service.docker("20.10", "cp", f"{name}:/bin/busybox", str(tmp_path))
        assert r.returncode == 0, r.stderr  # /bin is still there
        # copyUIDGID: the container's user owns what lands
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as tf:
            tf.addfile(tarfile.TarInfo("owned"), io.BytesIO(b""))
        data = tar.getvalue()
        req = (f"PUT /containers/{name}/archive?path=/tmp&copyUIDGID=1 HTTP/1.1\r\nHost: x\r\n"
               f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data  # fmt: skip
        assert _raw(service, req)[0] == 200
        status, _, body = _raw(service, f"GET /containers/{name}/archive?path=/tmp/owned HTTP/1.1\r\nHost: x\r\n"
                                        "Connection: close\r\n\r\n".encode())  # fmt: skip
        assert status == 200
        with tarfile.open(fileobj=io.BytesIO(_unchunk(body))) as tf:
            (m,) = tf.getmembers()
            assert (m.name, m.uid, m.gid) == ("owned", 4321, 77)
    finally:
        service.docker("20.10", "rm", "-f", name)
