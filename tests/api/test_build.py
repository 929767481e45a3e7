"""``POST /build`` and ``POST /build/prune`` through ``geedocker system service``: the docker CLIs' classic build
(20.10, and 28 without buildx: it falls back to the classic builder), docker-py, docker-compose 1.29 and the raw
API, checked against what dockerd 20.10 sends (the shapes in ``geedocker.api.build``'s doc)."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import re
import secrets
import socket
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.conftest import CLIS, Service

pytestmark = [pytest.mark.root, pytest.mark.registry]

CLI_VERSIONS = [v for v, path in CLIS.items() if os.path.exists(path)]


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def _tar(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _post(service: Service, path: str, body: bytes = b"", timeout: float = 120) -> tuple[int, bytes]:
    """A raw request on the service's socket: (status, body without the chunked framing)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(str(service.sock))
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\nContent-Length: {len(body)}"
              f"\r\nConnection: close\r\n\r\n".encode() + body)  # fmt: skip
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"transfer-encoding: chunked" in head.lower():
        out = b""
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2 :]
        rest = out
    return status, rest


def _messages(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def _stream_text(msgs: list[dict[str, Any]]) -> str:
    return "".join(m.get("stream", "") for m in msgs)


def _leftovers(service: Service) -> tuple[set[str], list[str]]:
    """The store's container dirs (RUN steps' too) and build contexts."""
    tmp, cdir = service.layout.tmp, service.layout.containers
    return ({p.name for p in cdir.iterdir() if not p.name.startswith(".")} if cdir.exists() else set(),
            [p.name for p in tmp.iterdir() if p.name.startswith("build-context-")] if tmp.exists() else [])  # fmt: skip


def _cli_env(service: Service, cli: str, buildkit: str | None) -> dict[str, str]:
    env = dict(service.env)
    env.pop("DOCKER_BUILDKIT", None)
    if buildkit is not None:
        env["DOCKER_BUILDKIT"] = buildkit
    return env


# ------------------------------------------------------------------------------------------- docker CLIs


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_cli_classic_build_from_stdin(service: Service, cli: str) -> None:
    tag = _name("stdin")
    # the tag in the ENV: a build by the other CLI before this one is not a cache hit
    df = f"FROM busybox\nENV A=1 T={tag}\nRUN echo built-$A > /f; echo out-of-run\nCMD [\"cat\", \"/f\"]\n"
    r = subprocess.run([CLIS[cli], "build", "-t", tag, "-"], input=df, env=_cli_env(service, cli, "0"),
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "Step 1/4 : FROM busybox\n" in out and "Step 3/4 : RUN echo built-$A > /f; echo out-of-run\n" in out
    assert re.search(r" ---> Running in [0-9a-f]{12}\nout-of-run\nRemoving intermediate container [0-9a-f]{12}\n", out)
    m = re.search(r"Successfully built ([0-9a-f]{12})\nSuccessfully tagged " + re.escape(tag) + ":latest\n", out)
    assert m, out
    image_id = service.docker(cli, "inspect", "-f", "{{.Id}}", tag).stdout.strip()
    assert image_id.startswith(f"sha256:{m.group(1)}")
    assert service.docker(cli, "run", "--rm", tag).stdout == "built-1\n"
    again = subprocess.run([CLIS[cli], "build", "-t", tag, "-"], input=df, env=_cli_env(service, cli, "0"),
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert again.returncode == 0 and " ---> Using cache\n" in again.stdout and "\nout-of-run\n" not in again.stdout
    assert service.docker(cli, "rmi", tag).returncode == 0


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_cli_classic_build_from_a_directory(service: Service, cli: str, tmp_path: Path) -> None:
    tag = _name("dir")
    (tmp_path / "app.txt").write_text("app\n")
    (tmp_path / "secret.txt").write_text("never copied\n")
    (tmp_path / ".dockerignore").write_text("secret.txt\n")
    (tmp_path / "build.Dockerfile").write_text(
        "FROM busybox AS base\nARG V=default\nRUN echo v=$V > /v\n"
        "FROM base\nCOPY . /ctx/\nLABEL from=dockerfile\n")  # fmt: skip
    # CLI 28 without buildx falls back to the classic builder on its own (with a deprecation warning), as
    # against dockerd 20.10: geedocker's /_ping does not announce BuildKit
    r = subprocess.run([CLIS[cli], "build", "-f", str(tmp_path / "build.Dockerfile"), "-t", tag, "-t", f"{tag}:two",
                        "--build-arg", "V=given", "--label", "extra=yes", str(tmp_path)],
                       env=_cli_env(service, cli, None if cli == "28" else "0"), capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Step 1/6 : FROM busybox AS base\n" in r.stdout and "Step 5/6 : COPY . /ctx/\n" in r.stdout
    assert f"Successfully tagged {tag}:latest\nSuccessfully tagged {tag}:two\n" in r.stdout
    if cli == "28":
        assert "legacy builder is deprecated" in r.stderr
    run = service.docker(cli, "run", "--rm", tag, "sh", "-c", "cat /v; ls -a /ctx")
    assert run.stdout.split() == ["v=given", ".", "..", ".dockerignore", "app.txt", "build.Dockerfile"]
    labels = json.loads(service.docker(cli, "inspect", "-f", "{{json .Config.Labels}}", f"{tag}:two").stdout)
    assert labels == {"from": "dockerfile", "extra": "yes"}
    assert service.docker(cli, "rmi", tag, f"{tag}:two").returncode == 0


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_cli_failing_run_gives_dockers_error_and_leaves_nothing(service: Service, cli: str) -> None:
    tag = _name("fail")
    before = _leftovers(service)
    r = subprocess.run([CLIS[cli], "build", "-t", tag, "-"], input="FROM busybox\nRUN echo before; exit 3\n",
                       env=_cli_env(service, cli, "0"), capture_output=True, text=True, timeout=120)  # fmt: skip
    # dockerd 20.10's answer: the RUN's exit code in the error, and the CLI exits with it
    assert r.returncode == 3, r.stdout + r.stderr
    assert "Step 2/2 : RUN echo before; exit 3\n" in r.stdout and "before\n" in r.stdout
    assert r.stderr.strip().endswith("The command '/bin/sh -c echo before; exit 3' returned a non-zero code: 3")
    r = subprocess.run([CLIS[cli], "build", "-q", "-"], input="FROM busybox\nRUN false\n",
                       env=_cli_env(service, cli, "0"), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 1 and "The command '/bin/sh -c false' returned a non-zero code: 1" in r.stderr
    assert _leftovers(service) == before
    assert service.docker(cli, "inspect", tag).returncode == 1


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_cli_quiet_build_with_hosts_shm_and_network(service: Service, cli: str, tmp_path: Path) -> None:
    iid = tmp_path / "iid"
    df = ("FROM busybox\nRUN grep -q '10.9.8.7.*extra-host' /etc/hosts && df -k /dev/shm | grep -q ' 71680 '\n"
          "LABEL q=1\n")
    r = subprocess.run([CLIS[cli], "build", "-q", "--iidfile", str(iid), "--add-host", "extra-host:10.9.8.7",
                        "--shm-size", "70m", "--network", "none", "-"], input=df, env=_cli_env(service, cli, "0"),
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", r.stdout)
    assert iid.read_text().strip() == r.stdout.strip()  # with -q the CLI writes the streamed line, newline too
    assert service.docker(cli, "inspect", "-f", "{{.Config.Labels.q}}", r.stdout.strip()).stdout == "1\n"


# ------------------------------------------------------------------------------------------- the raw API


def test_stream_shape_compressed_contexts_and_options(service: Service) -> None:
    tag = _name("raw")
    ctx = {"Dockerfile": "FROM busybox\nARG X\nRUN echo x=$X; echo err >&2\nCOPY f /f\nLABEL x=$X\n", "f": "file\n"}
    plain = _tar(ctx)
    bodies = {"plain": plain, "gzip": gzip.compress(plain), "bzip2": bz2.compress(plain), "xz": lzma.compress(plain)}
    ids = set()
    for kind, body in bodies.items():
        args, labels = quote(json.dumps({"X": kind, "UNUSED": "1"})), quote(json.dumps({"k": "v"}))
        status, out = _post(service, f"/v1.41/build?t={tag}:{kind}&nocache=1&rm=1&forcerm=1&buildargs={args}"
                                     f"&labels={labels}&networkmode=none", body)  # fmt: skip
        assert status == 200, out
        msgs = _messages(out)
        assert msgs[:2] == [{"stream": "Step 1/5 : FROM busybox"}, {"stream": "\n"}]  # dockerd sends them apart
        text = _stream_text(msgs)
        assert f"x={kind}\n" in text and {"stream": "\x1b[91merr\n\x1b[0m"} in msgs  # stderr in red, as dockerd
        assert "[Warning] One or more build-args [UNUSED] were not consumed\n" in text
        aux = [m["aux"]["ID"] for m in msgs if "aux" in m]
        assert len(aux) == 1 and re.fullmatch(r"sha256:[0-9a-f]{64}", aux[0])
        assert msgs[-2:] == [{"stream": f"Successfully built {aux[0][7:19]}\n"},
                             {"stream": f"Successfully tagged {tag}:{kind}\n"}]  # fmt: skip
        ids.add(aux[0])
        labels = json.loads(service.geedocker("inspect", "-f", "{{json .Config.Labels}}", f"{tag}:{kind}").stdout)
        assert labels == {"x": kind, "k": "v"}
        assert service.geedocker("rmi", f"{tag}:{kind}").returncode == 0
    assert len(ids) == 4
    status, out = _post(service, "/build?q=1", _tar({"Dockerfile": "FROM busybox\nLABEL quiet=1\n"}))
    assert status == 200 and re.fullmatch(rb'\{"stream": "sha256:[0-9a-f]{64}\\n"\}\r\n', out), out


def test_errors_before_and_after_the_stream_starts(service: Service) -> None:
    before = _leftovers(service)
    cases = [  # (context, query, status, message part): dockerd 20.10's statuses
        ({"Dockerfile": "FROM busybox\nFOO bar\n"}, "", 400, "unknown instruction"),
        ({"x": "1"}, "", 500, "Cannot locate specified Dockerfile: Dockerfile"),
        ({"Dockerfile": ""}, "", 400, "the Dockerfile (Dockerfile) cannot be empty"),
        ({"Dockerfile": "FROM busybox AS a\n"}, "target=zz", 400, "failed to reach build target zz in Dockerfile"),
        ({"Dockerfile": "RUN true\n"}, "", 400, "no build stage in current context"),
        ({"Dockerfile": "FROM busybox\n"}, "t=Bad:Name", 400, ""),
        ({"Dockerfile": "FROM busybox\n"}, "platform=linux/s390x", 400, "emulation"),
        ({"Dockerfile": "FROM busybox\n"}, "platform=not/a/plat/form", 400, ""),
    ]
    for ctx, query, status, message in cases:
        got, out = _post(service, f"/build?{query}", _tar(ctx))
        assert got == status and message in json.loads(out)["message"], (ctx, out)
    got, out = _post(service, "/build", b"not a tar archive at all" * 40)
    assert got == 400 and "tar" in json.loads(out)["message"]
    got, out = _post(service, "/build", b"")
    assert got == 400
    got, out = _post(service, "/build?remote=https://example.com/x.git", _tar({"Dockerfile": "FROM busybox\n"}))
    assert got == 400 and "remote" in json.loads(out)["message"]
    # after the stream began: an errorDetail line; a RUN's exit code is in it
    got, out = _post(service, "/build", _tar({"Dockerfile": "FROM busybox\nRUN [\"sh\", \"-c\", \"exit 2\"]\n"}))
    msgs = _messages(out)
    assert got == 200 and msgs[-1] == {
        "errorDetail": {"code": 2, "message": "The command 'sh -c exit 2' returned a non-zero code: 2"},
        "error": "The command 'sh -c exit 2' returned a non-zero code: 2"}
    got, out = _post(service, "/build", _tar({"Dockerfile": "FROM busybox\nCOPY missing /m\n"}))
    last = _messages(out)[-1]
    assert got == 200 and "code" not in last["errorDetail"] and "missing" in last["error"]
    # with q, the output kept back comes before the error (as dockerd)
    got, out = _post(service, "/build?q=1", _tar({"Dockerfile": "FROM busybox\nRUN echo shown; exit 3\n"}))
    msgs = _messages(out)
    assert "shown\n" in _stream_text(msgs) and msgs[-1]["errorDetail"]["code"] == 3
    assert _leftovers(service) == before


def test_a_client_that_goes_away_cancels_the_build(service: Service) -> None:
    before = _leftovers(service)
    body = _tar({"Dockerfile": "FROM busybox\nRUN echo started; sleep 60\n"})
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(str(service.sock))
    s.sendall(f"POST /build?nocache=1 HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    data = b""
    while b'{"stream": "started\\n"}' not in data:  # the RUN's output
        data += s.recv(65536)
    assert len(_leftovers(service)[0] - before[0]) == 1  # the RUN's container
    s.close()
    deadline = time.monotonic() + 20
    while _leftovers(service) != before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _leftovers(service) == before


def test_build_prune(service: Service) -> None:
    # a build that fails after a RUN: that RUN's layer is held by the cache alone
    status, out = _post(service, "/build?nocache=1", _tar({"Dockerfile": "FROM busybox\nRUN echo c > /c\nRUN false\n"}))
    assert status == 200 and _messages(out)[-1]["errorDetail"]["code"] == 1
    status, out = _post(service, "/v1.41/build/prune")
    d = json.loads(out)
    assert status == 200 and set(d) == {"CachesDeleted", "SpaceReclaimed"}
    assert d["CachesDeleted"] and all(re.fullmatch(r"[0-9a-f]{64}", k) for k in d["CachesDeleted"])
    assert d["SpaceReclaimed"] > 0
    assert json.loads(_post(service, "/build/prune")[1]) == {"CachesDeleted": None, "SpaceReclaimed": 0}
    status, out = _post(service, "/build/prune?filters=" + quote(json.dumps({"until": ["x"]})))
    assert status == 400 and "until" in json.loads(out)["message"]
    r = service.docker(CLI_VERSIONS[0], "builder", "prune", "-f")
    assert r.returncode == 0 and "Total reclaimed space: 0B" in r.stdout, r.stdout + r.stderr


# ------------------------------------------------------------------------------------------- docker-py, compose


def test_docker_py_build(service: Service, tmp_path: Path) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=service.env["DOCKER_HOST"], timeout=120)
    try:
        tag = _name("dpy")
        ctx = io.BytesIO(_tar({"Dockerfile": "FROM busybox\nARG V\nRUN echo v=$V > /v\nCMD [\"cat\", \"/v\"]\n"}))
        img, logs = client.images.build(fileobj=ctx, custom_context=True, tag=tag, buildargs={"V": "1"},
                                        labels={"by": "docker-py"}, rm=True)  # fmt: skip
        assert f"{tag}:latest" in img.tags and img.labels == {"by": "docker-py"}
        assert any("Successfully built" in m.get("stream", "") for m in logs)
        assert client.containers.run(tag, remove=True) == b"v=1\n"
        (tmp_path / "Dockerfile").write_text("FROM busybox\nCOPY hello /hello\n")
        (tmp_path / "hello").write_text("hi\n")
        img2, _ = client.images.build(path=str(tmp_path), tag=f"{tag}:dir")
        assert client.containers.run(img2.id, ["cat", "/hello"], remove=True) == b"hi\n"
        before = _leftovers(service)
        with pytest.raises(docker.errors.BuildError, match="returned a non-zero code: 4"):
            client.images.build(fileobj=io.BytesIO(_tar({"Dockerfile": "FROM busybox\nRUN exit 4\n"})),
                                custom_context=True, tag=f"{tag}:bad")  # fmt: skip
        assert _leftovers(service) == before
        client.images.remove(f"{tag}:latest")
        client.images.remove(f"{tag}:dir")
    finally:
        client.close()


@pytest.mark.parametrize("cli_build", ["1", "0"])  # compose runs `docker build` (default), or builds with docker-py
def test_compose_build(service: Service, tmp_path: Path, cli_build: str) -> None:
    import shutil

    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is missing")
    project = _name("cb").replace("-", "")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text("FROM busybox\nARG GREETING\nRUN echo $GREETING > /greeting\n"
                                                 "CMD [\"cat\", \"/greeting\"]\n")  # fmt: skip
    (tmp_path / "docker-compose.yml").write_text(
        "version: '3.7'\nservices:\n  web:\n    build:\n      context: ./web\n      args:\n"
        "        GREETING: hello-compose\n    network_mode: none\n")  # fmt: skip
    env = dict(service.env, COMPOSE_DOCKER_CLI_BUILD=cli_build, DOCKER_BUILDKIT="0", PATH=os.environ["PATH"])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([compose, "-p", project, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=180)  # fmt: skip

    try:
        r = run("build")
        assert r.returncode == 0, r.stdout + r.stderr
        r = run("run", "--rm", "web")
        assert r.returncode == 0 and "hello-compose" in r.stdout, r.stdout + r.stderr
    finally:
        run("down", "--rmi", "local")
