"""``api.filters``: the filters parameter as dockerd reads it, per kind (the prune endpoints, through the real
HTTP layer: ``http_sock``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.api_http import request


@pytest.mark.parametrize(("path", "report"), [
    ("/containers/prune", "ContainersDeleted"), ("/images/prune", "ImagesDeleted"),
    ("/networks/prune", "NetworksDeleted"), ("/volumes/prune", "VolumesDeleted"),
])  # fmt: skip
def test_prune_filters_as_dockerd(http_sock: str, path: str, report: str) -> None:
    """dockerd's filters per kind: an unknown key is its 400, never ignored (that would delete what the client
    asked to keep); the known ones (both JSON forms) answer docker's report, with SpaceReclaimed but for networks."""
    import urllib.parse

    def prune(filters: str) -> tuple[int, Any]:
        status, _, body = request(http_sock, "POST", f"{path}?filters={urllib.parse.quote(filters)}")
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
