"""``api.connection``: one client's HTTP over h11 on a real unix socket (``http_sock``): docker's headers,
HEAD, keep-alive, a 400 for bad HTTP, hijacked streams."""

from __future__ import annotations

import socket

from tests.support.api_http import UnixHTTPConnection, request


def test_ping_answers_get_and_head_with_docker_headers(http_sock: str) -> None:
    status, headers, body = request(http_sock, "GET", "/_ping")
    assert (status, body) == (200, b"OK")
    assert headers["api-version"] == "1.41" and headers["docker-experimental"] == "false"
    status, headers, body = request(http_sock, "HEAD", "/v1.41/_ping")
    assert status == 200 and body == b"" and headers["api-version"] == "1.41"


def test_bad_http_gets_a_400_and_the_service_keeps_serving(http_sock: str) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(http_sock)
    s.sendall(b"GARBAGE\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 400")
    s.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(http_sock)
    s.sendall(b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"Ima")
    s.close()  # gone mid-body
    assert request(http_sock, "GET", "/_ping")[0] == 200


def test_keep_alive_serves_several_requests_on_one_connection(http_sock: str) -> None:
    c = UnixHTTPConnection(http_sock)
    for _ in range(3):
        c.request("GET", "/_ping")
        r = c.getresponse()
        assert r.status == 200 and r.read() == b"OK"
    c.close()


def test_hijack_upgrades_and_hands_over_the_raw_socket(http_sock: str) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(http_sock)
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
