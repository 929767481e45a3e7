"""``api.messages``: a request's body as the handlers read it, through the real HTTP layer (``http_sock``): JSON
that does not parse is a 400, a body over the cap a 413 (and the connection closes)."""

from __future__ import annotations

import json
import socket

from tests.support.api_http import UnixHTTPConnection, request


def test_malformed_json_and_unknown_fields_are_400s(http_sock: str) -> None:
    status, _, body = request(http_sock, "POST", "/containers/create", b"{not json",
                              {"Content-Type": "application/json"})  # fmt: skip
    assert status == 400 and "invalid JSON" in json.loads(body)["message"]
    status, _, body = request(http_sock, "POST", "/containers/create",
                              json.dumps({"Image": "busybox", "Bogus": 1}).encode(),
                              {"Content-Type": "application/json"})  # fmt: skip
    assert status == 400 and json.loads(body)["message"] == "unknown field Config.Bogus"
    status, _, body = request(http_sock, "POST", "/containers/create", json.dumps([1]).encode(),
                              {"Content-Type": "application/json"})  # fmt: skip
    assert status == 400


def test_a_body_over_the_cap_is_refused(http_sock: str) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(http_sock)
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
    c = UnixHTTPConnection(http_sock)
    try:
        c.request("POST", "/containers/create", body=iter([big[i:i + 65536] for i in range(0, len(big), 65536)]),
                  headers={"Content-Type": "application/json"}, encode_chunked=True)
        r = c.getresponse()
        assert r.status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the service answered and closed while the client was still sending: also a refusal
    c.close()
    assert request(http_sock, "GET", "/_ping")[0] == 200  # still serving
