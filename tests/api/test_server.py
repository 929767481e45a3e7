"""The HTTP layer (``geedocker.api.server`` + ``app``) against a real unix socket: framing, errors, version
prefixes, caps, hijacking and concurrency, with the router's real table over an empty store."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geedocker.api.app import App
from geedocker.api.messages import Hijack, Request, Response
from geedocker.api.server import Server, listen
from geedocker.store.layout import Layout


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.path)
        self.sock = s


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "api.sock")
    layout = Layout(tmp_path / "root", tmp_path / "run")
    layout.ensure()
    app = App(layout)

    def dispatch(req: Request) -> Response | Hijack:
        if req.path == "/test/echo-hijack":  # a hijacked stream that echoes in capitals
            def run(sock: socket.socket, tail: bytes) -> None:
                data = tail
                while not data.endswith(b"\n"):
                    chunk = sock.recv(100)
                    if not chunk:
                        break
                    data += chunk
                sock.sendall(data.upper())
                sock.close()

            return Hijack(run)
        return app(req)

    sock = listen(f"unix://{path}")
    server = Server(sock, dispatch, api_version="1.41")
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield path
    server.stop()
    t.join(5)
    sock.close()


def request(path: str, method: str, url: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    c = UnixHTTPConnection(path)
    c.request(method, url, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def test_ping_answers_get_and_head_with_docker_headers(service: str) -> None:
    status, headers, body = request(service, "GET", "/_ping")
    assert (status, body) == (200, b"OK")
    assert headers["api-version"] == "1.41" and headers["docker-experimental"] == "false"
    status, headers, body = request(service, "HEAD", "/v1.41/_ping")
    assert status == 200 and body == b"" and headers["api-version"] == "1.41"


def test_socket_mode_is_dockers(service: str) -> None:
    import os
    import stat

    assert stat.S_IMODE(os.stat(service).st_mode) == 0o660


def test_version_prefixes_up_to_the_advertised_one(service: str) -> None:
    for prefix in ("", "/v1.24", "/v1.41"):
        status, _, body = request(service, "GET", f"{prefix}/version")
        assert status == 200 and json.loads(body)["ApiVersion"] == "1.41"
    status, _, body = request(service, "GET", "/v1.43/version")
    assert status == 400 and "too new" in json.loads(body)["message"]


def test_unknown_and_unimplemented_paths(service: str) -> None:
    status, _, body = request(service, "GET", "/v1.41/containers/abc/attach/ws")
    assert status == 501 and json.loads(body)["message"] == \
        "GET /containers/{id}/attach/ws is not implemented by geedocker"
    status, _, body = request(service, "GET", "/swarm")
    assert status == 501 and json.loads(body)["message"] == "GET /swarm is not implemented by geedocker"
    status, _, body = request(service, "GET", "/nonsense")
    assert status == 404 and "message" in json.loads(body)
    status, _, _ = request(service, "DELETE", "/version")
    assert status == 405


def test_engine_errors_map_to_docker_status_codes(service: str) -> None:
    status, _, body = request(service, "GET", "/containers/nope/json")
    assert status == 404 and json.loads(body) == {"message": "No such container: nope"}
    status, _, body = request(service, "GET", "/images/nope:1/json")
    assert status == 404 and "No such image" in json.loads(body)["message"]


def test_malformed_json_and_unknown_fields_are_400s(service: str) -> None:
    status, _, body = request(service, "POST", "/containers/create", b"{not json",
                              {"Content-Type": "application/json"})  # fmt: skip
    assert status == 400 and "invalid JSON" in json.loads(body)["message"]
    status, _, body = request(service, "POST", "/containers/create",
                              json.dumps({"Image": "busybox", "Bogus": 1}).encode(),
                              {"Content-Type": "application/json"})  # fmt: skip
    assert status == 400 and json.loads(body)["message"] == "unknown field Config.Bogus"
    status, _, body = request(service, "POST", "/containers/create", json.dumps([1]).encode(),
                              {"Content-Type": "application/json"})  # fmt: skip
    assert status == 400


def test_a_body_over_the_cap_is_refused(service: str) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(service)
    s.sendall(b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 5000000\r\n\r\n" + b'{"Image": "' + b"a" * 10000)  # fmt: skip
    answer = b""
    while chunk := s.recv(4096):
        answer += chunk
    s.close()
    assert answer.startswith(b"HTTP/1.1 413") and b"Connection: close" in answer
    assert b"larger than" in answer
    # a chunked body has no length up front: it is counted as it comes
    big = b'{"Image": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    c = UnixHTTPConnection(service)
    try:
        c.request("POST", "/containers/create", body=iter([big[i:i + 65536] for i in range(0, len(big), 65536)]),
                  headers={"Content-Type": "application/json"}, encode_chunked=True)
        r = c.getresponse()
        assert r.status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the service answered and closed while the client was still sending: also a refusal
    c.close()
    assert request(service, "GET", "/_ping")[0] == 200  # still serving


def test_bad_http_gets_a_400_and_the_service_keeps_serving(service: str) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(service)
    s.sendall(b"GARBAGE\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 400")
    s.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(service)
    s.sendall(b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"Ima")
    s.close()  # gone mid-body
    assert request(service, "GET", "/_ping")[0] == 200


def test_keep_alive_serves_several_requests_on_one_connection(service: str) -> None:
    c = UnixHTTPConnection(service)
    for _ in range(3):
        c.request("GET", "/_ping")
        r = c.getresponse()
        assert r.status == 200 and r.read() == b"OK"
    c.close()


def test_hijack_upgrades_and_hands_over_the_raw_socket(service: str) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(service)
    s.sendall(b"POST /test/echo-hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
              b"Content-Length: 0\r\n\r\nhello ")  # fmt: skip
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101 UPGRADED")
    assert b"application/vnd.docker.raw-stream" in head
    s.sendall(b"world\n")
    data = b""
    while chunk := s.recv(100):
        data += chunk
    assert data == b"HELLO WORLD\n"  # the bytes sent with the request came through too


def test_hundred_concurrent_requests(service: str) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        status, _, _ = request(service, "GET", "/info" if i % 2 else "/containers/json?all=1")
        with lock:
            results.append(status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [200] * 100


@pytest.mark.parametrize(("path", "report"), [
    ("/containers/prune", "ContainersDeleted"), ("/images/prune", "ImagesDeleted"),
    ("/networks/prune", "NetworksDeleted"), ("/volumes/prune", "VolumesDeleted"),
])  # fmt: skip
def test_prune_filters_as_dockerd(service: str, path: str, report: str) -> None:
    """dockerd's filters per kind: an unknown key is its 400, never ignored (that would delete what the client
    asked to keep); the known ones (both JSON forms) answer docker's report, with SpaceReclaimed but for networks."""
    import urllib.parse

    def prune(filters: str) -> tuple[int, Any]:
        status, _, body = request(service, "POST", f"{path}?filters={urllib.parse.quote(filters)}")
        return status, json.loads(body)

    assert prune('{"foo": ["1"]}') == (400, {"message": "Invalid filter 'foo'"})
    good = '{"label": {"keep=no": true}}' if path == "/volumes/prune" else '{"until": ["24h"], "label!": ["k"]}'
    status, answer = prune(good)
    want = {report: [] if path == "/volumes/prune" else None, "SpaceReclaimed": 0}  # dockerd 20.10's shapes
    if path == "/networks/prune":
        del want["SpaceReclaimed"]
    assert (status, answer) == (200, want)
    if path != "/volumes/prune":
        status, answer = prune('{"until": ["junk"]}')
        assert status == 400 and answer["message"] == 'failed to parse value as time or duration: "junk"'


def test_engine_errors_answer_with_dockers_status(service: str) -> None:
    status, _, body = request(service, "POST", "/volumes/create", body=b'{"Name": "bad/name"}',
                              headers={"Content-Type": "application/json"})  # fmt: skip
    assert status == 400 and "includes invalid characters for a local volume name" in json.loads(body)["message"]
    status, _, body = request(service, "POST", "/images/prune?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D")
    assert (status, json.loads(body)) == (400, {"message": "Invalid filter 'dangling=[maybe]'"})
