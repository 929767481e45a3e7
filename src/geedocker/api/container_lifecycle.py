"""``/containers/...``: a container's life: create, start, stop, kill, restart, wait for it, remove, prune.

Thin handlers over ``geedocker.containers.create``, ``.lifecycle`` and ``.removal`` (as the CLI's commands). A
start finds the client that attached before it (``api.container_attach``) and runs the container with that
client's stdio.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from geedocker.api.container_attach import pending_attaches
from geedocker.api.container_lookup import current, record, store_of
from geedocker.api.errors import ApiError
from geedocker.api.filters import filters_arg
from geedocker.api.messages import Request, Response, json_response, no_content
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import ContainerStore
from geedocker.errors import GeeDockerError


def create(req: Request) -> Response:
    from geedocker.api.create import options_from_body
    from geedocker.containers import images
    from geedocker.containers.create import create as create_container

    body = req.json()
    image, opts = options_from_body(body, req.arg("name"))
    platform = req.arg("platform")  # --platform: that variant of the image (docker's clients pull it on a 404)
    if platform:
        from geedocker.oci import Platform

        try:
            Platform.parse(platform)
        except GeeDockerError as e:
            raise ApiError(400, str(e)) from e
    source = images.from_image(req.layout, image, pull="never", platform=platform)
    # The rootfs stays mounted for the start that docker's clients send next (remove unmounts it); mounting it
    # again would also refuse an auto-removed container's volatile overlay, whose work dir marks the first mount.
    rec = create_container(req.layout, source, opts)
    return json_response({"Id": rec.id, "Warnings": []}, 201)


def remove(req: Request) -> Response:
    from geedocker.containers import removal

    rec = record(req)
    if req.flag("link"):
        raise ApiError(400, "links are not supported by geedocker")
    removal.remove(req.layout, rec.id, force=req.flag("force"), volumes=req.flag("v"))
    return no_content()


def prune(req: Request) -> Response:
    from geedocker.containers import prune

    pruned = prune.containers(req.layout, filters_arg(req))
    return json_response({"ContainersDeleted": list(pruned.deleted) or None, "SpaceReclaimed": pruned.reclaimed})


def start(req: Request) -> Response:
    from geedocker.containers import lifecycle

    rec = record(req)
    if rec.state.status == Status.RUNNING:
        return Response(304, b"", content_type="")
    lock, pending = pending_attaches(req)
    with lock:
        attach = pending.pop(rec.id, None)
    if attach is not None:
        attach.launch(req, rec)
    else:
        lifecycle.start(req.layout, rec.id)
    return no_content()


def stop(req: Request) -> Response:
    from geedocker.containers import lifecycle

    rec = record(req)
    if rec.state.status != Status.RUNNING:
        return Response(304, b"", content_type="")
    lifecycle.stop(req.layout, rec.id, req.int_arg("t"))
    return no_content()


def kill(req: Request) -> Response:
    from geedocker.containers import lifecycle
    from geedocker.containers.flags import parse_signal

    rec = record(req)
    sig = parse_signal(req.arg("signal", "KILL"))
    if rec.state.status != Status.RUNNING:
        raise ApiError(409, f"Container {rec.id} is not running")
    lifecycle.kill(req.layout, rec.id, sig)
    return no_content()


def restart(req: Request) -> Response:
    from geedocker.containers import lifecycle

    rec = record(req)
    lifecycle.stop(req.layout, rec.id, req.int_arg("t"))
    lifecycle.start(req.layout, rec.id)
    return no_content()


def wait(req: Request) -> Response:
    condition = req.arg("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise ApiError(400, f"invalid condition {condition!r}")
    rec = record(req)
    store = store_of(req)

    def result() -> Iterator[bytes]:
        import json

        code, err = _wait(req, store, rec, condition)
        yield json.dumps({"StatusCode": code, "Error": {"Message": err} if err else None}).encode() + b"\n"

    return Response(200, result())  # the headers go at once: docker's clients wait for them before starting


def _wait(req: Request, store: ContainerStore, first: ContainerRecord, condition: str) -> tuple[int, str]:
    delay = 0.005
    started0 = first.state.started_at
    was_running = first.state.status == Status.RUNNING
    last = first
    while True:
        cur = current(req, first)
        if cur is None:  # removed: an auto-removed container leaves its exit code behind
            try:
                return int(store.exit_file(first.id).read_text().strip()), ""
            except (OSError, ValueError):
                return last.state.exit_code, ""
        last = cur
        st = cur.state
        stopped = st.status != Status.RUNNING
        if condition == "not-running" and stopped:
            return st.exit_code, ""
        if condition == "next-exit" and stopped and (was_running or (st.started_at and st.started_at != started0)
                                                     or (st.status == Status.CREATED and st.error)):  # fmt: skip
            return st.exit_code, st.error
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
