"""``/events`` through the real clients: ``docker events --since/--until/--filter`` with docker's CLIs 20.10 and
28, a live stream, docker-py's ``events(decode=True)``, and a bad filter."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time

import pytest

from tests.api.conftest import CLIS, Service

pytestmark = [pytest.mark.root, pytest.mark.registry]

CLI_VERSIONS = [v for v, path in CLIS.items() if os.path.exists(path)]


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def _lifecycle(service: Service, name: str, *labels: str) -> str:
    """create, start, kill and remove a container; its id."""
    label_args = [a for lab in labels for a in ("--label", lab)]
    r = service.geedocker("create", "--name", name, "--network", "none", *label_args, "busybox", "sleep", "300")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert service.geedocker("start", name).returncode == 0
    assert service.geedocker("rm", "-f", name).returncode == 0
    return cid


@pytest.mark.parametrize("cli", CLI_VERSIONS)
def test_docker_events_since_until_and_filters(service: Service, cli: str) -> None:
    name, other = _name("ev"), _name("other")
    t0 = time.time()
    cid = _lifecycle(service, name, "tier=web")
    _lifecycle(service, other, "tier=db")
    t1 = time.time()
    fmt = "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}"
    window = ("--since", f"{t0:.9f}", "--until", f"{t1:.9f}")
    r = service.docker(cli, "events", *window, "--filter", f"container={name}", "--format", fmt, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    actions = [line.split()[1] for line in lines]
    assert actions[:2] == ["create", "start"] and "destroy" in actions, lines
    assert all(line.split()[2:] == [cid, name] for line in lines)
    r = service.docker(cli, "events", *window, "--filter", "event=start", "--filter", "type=container",
                       "--format", "{{.Actor.Attributes.name}}", timeout=30)  # fmt: skip
    assert r.stdout.split() == [name, other], r.stderr
    r = service.docker(cli, "events", *window, "--filter", "label=tier=db", "--filter", "event=create",
                       "--format", "{{.Actor.Attributes.name}}", timeout=30)  # fmt: skip
    assert r.stdout.split() == [other], r.stderr
    r = service.docker(cli, "events", *window, "--filter", "image=busybox", "--filter", "event=create",
                       "--format", "{{.Actor.Attributes.name}}", timeout=30)  # fmt: skip
    assert r.stdout.split() == [name, other], r.stderr
    # the default line: docker's own format
    r = service.docker(cli, "events", *window, "--filter", f"container={name}", "--filter", "event=create",
                       timeout=30)  # fmt: skip
    assert f"container create {cid} (" in r.stdout and f"name={name}" in r.stdout and "tier=web" in r.stdout


def test_a_live_stream_sees_new_events(service: Service) -> None:
    name = _name("live")
    assert service.geedocker("create", "--name", name, "--network", "none", "busybox", "true").returncode == 0
    p = subprocess.Popen([CLIS["20.10"], "events", "--filter", f"container={name}", "--format", "{{.Action}}"],
                         env=service.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        time.sleep(2)  # the stream is open: what follows is new
        assert service.geedocker("start", name).returncode == 0
        assert p.stdout is not None
        assert p.stdout.readline() == b"start\n"
        assert p.stdout.readline() == b"die\n"
    finally:
        p.kill()
        p.wait()
        service.geedocker("rm", "-f", name)


def test_docker_py_events(service: Service) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=service.env["DOCKER_HOST"], timeout=60)
    name = _name("py")
    try:
        t0 = time.time()
        cid = _lifecycle(service, name)
        t1 = time.time()
        evs = list(client.events(decode=True, since=t0, until=t1, filters={"container": name, "event": ["create"]}))
        assert len(evs) == 1, evs
        ev = evs[0]
        assert (ev["Type"], ev["Action"], ev["status"], ev["id"], ev["from"]) == \
            ("container", "create", "create", cid, "busybox")
        assert ev["Actor"]["ID"] == cid and ev["Actor"]["Attributes"]["name"] == name
        assert ev["scope"] == "local" and int(t0) <= ev["time"] <= t1 and ev["timeNano"] // 10**9 == ev["time"]
        # a stream until a moment in the future: the events that come before it, then its end
        later = time.time() + 4
        stream = client.events(decode=True, until=later, filters={"type": "container", "container": name})
        assert service.geedocker("create", "--name", name, "--network", "none", "busybox", "true").returncode == 0
        got = [e["Action"] for e in stream]
        assert got == ["create"] and time.time() >= later
    finally:
        service.geedocker("rm", "-f", name)
        client.close()


def test_bad_filters_and_times_are_400s(service: Service) -> None:
    for query, word in ((b"filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D", b"invalid filter 'bogus'"),
                        (b"since=yesterday", b"invalid timestamp")):  # fmt: skip
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(service.sock))
            s.sendall(b"GET /v1.41/events?" + query + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and word in body, data
        assert "message" in json.loads(body)


def test_an_api_exec_logs_its_creation_when_made_and_names_its_session(service: Service) -> None:
    import docker

    name = _name("ex")
    r = service.geedocker("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "300")
    assert r.returncode == 0, r.stderr
    client = docker.DockerClient(base_url=service.env["DOCKER_HOST"], timeout=60)
    try:
        t0 = time.time()
        eid = client.api.exec_create(name, ["sh", "-c", "exit 3"])["Id"]
        made = client.events(since=t0, until=time.time() + 0.5, decode=True,
                             filters={"container": name, "event": "exec_create"})  # fmt: skip
        created = [e for e in made]
        assert [(e["Action"], e["Actor"]["Attributes"]["execID"]) for e in created] == [
            ("exec_create: sh -c exit 3", eid)]  # logged when made, before any start
        client.api.exec_start(eid)
        assert client.api.exec_inspect(eid)["ExitCode"] == 3
        seen = client.events(since=t0, until=time.time() + 0.5, decode=True, filters={"container": name})
        execs = [(e["Action"].split(":")[0], e["Actor"]["Attributes"].get("execID"), e["Actor"]["Attributes"].get(
            "exitCode")) for e in seen if e["Action"].startswith("exec_")]
        assert execs == [("exec_create", eid, None), ("exec_start", eid, None), ("exec_die", eid, "3")]
    finally:
        service.geedocker("rm", "-f", name)
        client.close()


def _actions(service: Service, name: str, since: float) -> list[tuple[str, dict[str, str]]]:
    """The container's events since ``since``: action and the attributes beyond image and name."""
    window = ("--since", f"{since:.9f}", "--until", f"{time.time():.9f}")
    r = service.docker("20.10", "events", *window, "--filter", f"container={name}", "--filter", "type=container",
                       "--format", "{{json .}}", timeout=30)  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = []
    for line in r.stdout.splitlines():
        ev = json.loads(line)
        attrs = ev["Actor"]["Attributes"]
        assert attrs["name"] == name and attrs["image"] == "busybox", ev
        out.append((ev["Action"], {k: v for k, v in attrs.items() if k not in ("name", "image")}))
    return out


def test_api_top_export_archive_resize_attach_and_detach_events(service: Service) -> None:
    import io
    import tarfile

    import docker

    name = _name("io")
    r = service.geedocker("run", "-dit", "--name", name, "--network", "none", "busybox", "sh")
    assert r.returncode == 0, r.stderr
    client = docker.DockerClient(base_url=service.env["DOCKER_HOST"], timeout=60)
    try:
        t0 = time.time()
        client.api.resize(name, 30, 100)
        client.api.top(name)
        assert b"".join(client.api.export(name))
        stream, stat = client.api.get_archive(name, "/etc/passwd")
        assert stat["name"] == "passwd" and b"".join(stream)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            ti = tarfile.TarInfo("hello")
            tf.addfile(ti, io.BytesIO(b""))
        assert client.api.put_archive(name, "/tmp", buf.getvalue())
        with pytest.raises(docker.errors.NotFound):
            client.api.get_archive(name, "/nonexistent")  # nothing archived: no event
        client.api.attach(name, stream=False, logs=False)  # not even a stream: dockerd logs it
        with socket.socket(socket.AF_UNIX) as s:  # a raw attach with the default detach keys
            s.settimeout(20)
            s.connect(str(service.sock))
            s.sendall(f"POST /v1.41/containers/{name}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\n"
                      "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())  # fmt: skip
            assert s.recv(4096).startswith(b"HTTP/1.1 101")
            s.sendall(b"\x10\x11")
            while s.recv(4096):
                pass  # the stream ends: detached
        time.sleep(0.3)
        assert _actions(service, name, t0) == [
            ("resize", {"height": "30", "width": "100"}), ("top", {}), ("export", {}), ("archive-path", {}),
            ("extract-to-dir", {}), ("attach", {}), ("attach", {}), ("detach", {})]  # as dockerd 20.10's
        assert service.geedocker("inspect", "-f", "{{.State.Running}}", name).stdout == "true\n"
        # docker run: attached before the start
        t1 = time.time()
        r = service.docker("20.10", "run", "--name", name + "-r", "--network", "none", "busybox", "true", timeout=60)
        assert r.returncode == 0, r.stderr
        assert [a for a, _ in _actions(service, name + "-r", t1)] == ["create", "attach", "start", "die"]
    finally:
        service.geedocker("rm", "-f", name, name + "-r")
        client.close()
