"""``/volumes/...``: thin handlers over ``geedocker.containers.volumes`` and ``geedocker.volumes``."""

from __future__ import annotations

from geedocker.api.errors import ApiError
from geedocker.api.messages import Request, Response, json_response, no_content
from geedocker.containers.engine import Engine


def _filter_pairs(req: Request) -> list[tuple[str, str]]:
    raw = req.json_arg("filters") or {}
    if not isinstance(raw, dict):
        raise ApiError(400, "filters: a JSON object was expected")
    pairs: list[tuple[str, str]] = []
    for k, v in raw.items():
        values = [str(x) for x in v] if isinstance(v, list) else [str(x) for x, on in dict(v).items() if on]
        pairs += [(str(k), x) for x in values]
    return pairs


def list_(req: Request) -> Response:
    from geedocker.containers import volumes

    vols = volumes.list_volumes(req.layout, _filter_pairs(req))
    return json_response({"Volumes": [volumes.inspect_volume(req.layout, v) for v in vols], "Warnings": None})


def create(req: Request) -> Response:
    from geedocker.containers import volumes

    body = req.json(required=False) or {}
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    driver = str(body.get("Driver") or "local")
    if driver != "local":
        raise ApiError(404, f'error looking up volume plugin {driver}: plugin "{driver}" not found')
    labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
    opts = {str(k): str(v) for k, v in (body.get("DriverOpts") or {}).items()}
    vol, _ = Engine.of(req.layout).volumes.create(str(body.get("Name") or ""), labels, opts)
    return json_response(volumes.inspect_volume(req.layout, vol), 201)


def inspect(req: Request) -> Response:
    from geedocker.containers import volumes

    return json_response(volumes.inspect_volume(req.layout, Engine.of(req.layout).volumes.get(req.params["name"])))


def remove(req: Request) -> Response:
    from geedocker.containers import volumes

    volumes.remove_volume(req.layout, req.params["name"], force=req.flag("force"))
    return no_content()


def prune(req: Request) -> Response:
    from geedocker.api.filters import filters_arg
    from geedocker.containers import prune

    f = filters_arg(req)
    f.setdefault("all", ["true"])  # API 1.41 (docker 20.10) prunes every unused volume; anonymous only came with 1.42
    pruned = prune.volumes(req.layout, f)
    # dockerd 20.10 answers [] when none went (its other prune reports answer null)
    return json_response({"VolumesDeleted": list(pruned.deleted), "SpaceReclaimed": pruned.reclaimed})
