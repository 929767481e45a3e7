"""``/containers/{id}/changes``, ``/containers/{id}/export`` and ``/commit``: a container's filesystem, as
``geedocker.containers.commit`` gives it (its changes, a tar of it, an image of it)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from geedocker.api.container_lookup import record
from geedocker.api.errors import ApiError
from geedocker.api.messages import Request, Response, json_response
from geedocker.errors import ContainerNotFound, GeeDockerError


def changes(req: Request) -> Response:
    from geedocker.containers.commit import diff

    kinds = {"C": 0, "A": 1, "D": 2}  # docker's ChangeType numbers
    rec = record(req)
    return json_response([{"Path": c.path, "Kind": kinds[c.kind]} for c in diff(req.layout, rec.id)] or None)


def export(req: Request) -> Response:
    from geedocker.containers.commit import export as do_export

    rec = record(req)
    r, w = os.pipe()

    def write() -> None:
        with os.fdopen(w, "wb") as out:
            with contextlib.suppress(GeeDockerError, OSError):  # the client sees a short tar: nothing else to say
                do_export(req.layout, rec.id, out)

    threading.Thread(target=write, daemon=True, name="api-export").start()

    def body() -> Iterator[bytes]:
        with os.fdopen(r, "rb") as f:
            while chunk := f.read(65536):
                yield chunk

    return Response(200, body(), content_type="application/x-tar")


def commit(req: Request) -> Response:
    from geedocker.containers.commit import commit as do_commit

    ref = req.arg("container")
    if not ref:
        raise ApiError(400, "container is required")
    body = req.json(required=False)
    if body:  # a config to merge: the CLI sends its --change lines as query parameters instead
        raise ApiError(400, "a commit config in the request body is not supported by geedocker; use changes")
    repo, tag = req.arg("repo"), req.arg("tag")
    name = (f"{repo}:{tag}" if tag else repo) or None
    try:
        rec = do_commit(req.layout, ref, name, changes=tuple(req.query.get("changes", [])),
                        message=req.arg("comment"), author=req.arg("author"))  # fmt: skip
    except ContainerNotFound as e:
        raise ApiError(404, f"No such container: {ref}") from e
    return json_response({"Id": str(rec.config_digest)}, 201)


