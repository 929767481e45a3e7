"""``api.app``: routing through the real HTTP layer (``http_sock``): version prefixes, unknown and
unimplemented paths, engine errors to docker's status codes."""

from __future__ import annotations

import json

from tests.support.api_http import request


def test_version_prefixes_up_to_the_advertised_one(http_sock: str) -> None:
    for prefix in ("", "/v1.24", "/v1.41"):
        status, _, body = request(http_sock, "GET", f"{prefix}/version")
        assert status == 200 and json.loads(body)["ApiVersion"] == "1.41"
    status, _, body = request(http_sock, "GET", "/v1.43/version")
    assert status == 400 and "too new" in json.loads(body)["message"]


def test_unknown_and_unimplemented_paths(http_sock: str) -> None:
    status, _, body = request(http_sock, "GET", "/v1.41/containers/abc/attach/ws")
    assert status == 501 and json.loads(body)["message"] == \
        "GET /containers/{id}/attach/ws is not implemented by geedocker"
    status, _, body = request(http_sock, "GET", "/swarm")
    assert status == 501 and json.loads(body)["message"] == "GET /swarm is not implemented by geedocker"
    status, _, body = request(http_sock, "GET", "/nonsense")
    assert status == 404 and "message" in json.loads(body)
    status, _, _ = request(http_sock, "DELETE", "/version")
    assert status == 405


def test_engine_errors_map_to_docker_status_codes(http_sock: str) -> None:
    status, _, body = request(http_sock, "GET", "/containers/nope/json")
    assert status == 404 and json.loads(body) == {"message": "No such container: nope"}
    status, _, body = request(http_sock, "GET", "/images/nope:1/json")
    assert status == 404 and "No such image" in json.loads(body)["message"]


def test_engine_errors_answer_with_dockers_status(http_sock: str) -> None:
    status, _, body = request(http_sock, "POST", "/volumes/create", body=b'{"Name": "bad/name"}',
                              headers={"Content-Type": "application/json"})  # fmt: skip
    assert status == 400 and "includes invalid characters for a local volume name" in json.loads(body)["message"]
    status, _, body = request(http_sock, "POST", "/images/prune?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D")
    assert (status, json.loads(body)) == (400, {"message": "Invalid filter 'dangling=[maybe]'"})
