"""``/containers/{id}/pause``, ``unpause``, ``top`` and ``rename``: thin handlers over
``geedocker.containers.control``, as the CLI's commands."""

from __future__ import annotations

from geedocker.api.container_lookup import record
from geedocker.api.errors import ApiError
from geedocker.api.messages import Request, Response, json_response, no_content
from geedocker.containers.record import Status


def pause(req: Request) -> Response:
    from geedocker.containers import control

    control.pause(req.layout, record(req).id)
    return no_content()


def unpause(req: Request) -> Response:
    from geedocker.containers import control

    control.unpause(req.layout, record(req).id)
    return no_content()


def top(req: Request) -> Response:
    from geedocker.containers import control

    rec = record(req)
    if rec.state.status != Status.RUNNING:
        raise ApiError(409, f"Container {rec.id} is not running")
    ps_args = req.arg("ps_args")
    titles, rows = control.top(req.layout, rec.id, ps_args.split() if ps_args else [])
    return json_response({"Titles": titles, "Processes": rows})


def rename(req: Request) -> Response:
    from geedocker.containers import control

    new = req.arg("name")
    if not new:
        raise ApiError(400, "name is required")
    control.rename(req.layout, record(req).id, new)
    return no_content()
