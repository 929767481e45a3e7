"""``/networks/...``: thin handlers over ``geedocker.network`` (the same functions as ``geedocker network``)."""

from __future__ import annotations

from typing import Any

from geedocker.api.errors import ApiError
from geedocker.api.messages import Request, Response, json_response, no_content
from geedocker.containers.engine import Engine

_CREATE_FIELDS = {"Name", "CheckDuplicate", "Driver", "Internal", "Attachable", "Ingress", "IPAM", "EnableIPv6",
                  "Options", "Labels", "Scope", "ConfigOnly", "ConfigFrom"}  # fmt: skip


def _network(req: Request, ref: str) -> dict[str, Any]:
    from geedocker.network.inspect import inspect_network

    d = inspect_network(req.layout, ref)
    if not d.get("Created"):
        d["Created"] = "0001-01-01T00:00:00Z"  # docker's zero time: its clients parse the field
    return d


def _all(req: Request) -> list[dict[str, Any]]:
    from geedocker.network.inspect import list_rows

    return [_network(req, name) for _, name, _, _ in list_rows(req.layout)]


def list_(req: Request) -> Response:
    filters = req.json_arg("filters") or {}
    if not isinstance(filters, dict):
        raise ApiError(400, "filters: a JSON object was expected")
    nets = _all(req)
    for key, values in filters.items():
        values = list(values) if isinstance(values, list) else [k for k, on in dict(values).items() if on]
        if key == "name":
            nets = [n for n in nets if any(v in n["Name"] for v in values)]
        elif key == "id":
            nets = [n for n in nets if any(n["Id"].startswith(v) for v in values)]
        elif key == "driver":
            nets = [n for n in nets if n["Driver"] in values]
        elif key == "label":
            nets = [n for n in nets if all(_has_label(n.get("Labels") or {}, v) for v in values)]
        elif key in ("type", "scope"):
            continue
        else:
            raise ApiError(400, f"invalid filter '{key}'")
    return json_response(nets)


def _has_label(labels: dict[str, str], want: str) -> bool:
    k, eq, v = want.partition("=")
    return k in labels and (not eq or labels[k] == v)


def inspect(req: Request) -> Response:
    return json_response(_network(req, req.params["id"]))


def create(req: Request) -> Response:
    from geedocker.network import endpoint
    from geedocker.network.options import validate_network_name

    body = req.json()
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    for k, v in body.items():
        if k not in _CREATE_FIELDS and v not in (None, "", False, {}, []):
            raise ApiError(400, f"unknown field {k}")
    name = validate_network_name(str(body.get("Name") or ""))
    driver = str(body.get("Driver") or "bridge")
    if driver != "bridge":
        raise ApiError(404, f"plugin \"{driver}\" not found: only the bridge driver is supported by geedocker")
    for k in ("Internal", "EnableIPv6", "Ingress", "ConfigOnly"):
        if body.get(k):
            raise ApiError(400, f"{k} networks are not supported by geedocker")
    ipam = body.get("IPAM") or {}
    configs = (ipam.get("Config") or []) if isinstance(ipam, dict) else []
    if len(configs) > 1:
        raise ApiError(400, "geedocker supports one IPAM subnet per network")
    subnet = gateway = ""
    if configs:
        c = configs[0] if isinstance(configs[0], dict) else {}
        subnet, gateway = str(c.get("Subnet") or ""), str(c.get("Gateway") or "")
        if c.get("IPRange") or c.get("AuxiliaryAddresses"):
            raise ApiError(400, "IPAM IPRange and AuxiliaryAddresses are not supported by geedocker")
    labels = sorted((str(k), str(v)) for k, v in (body.get("Labels") or {}).items())
    cfg = endpoint.create_network(req.layout, name, subnet, gateway, labels)
    return json_response({"Id": cfg.id, "Warning": ""}, 201)


def remove(req: Request) -> Response:
    from geedocker.network import endpoint

    endpoint.remove_network(req.layout, req.params["id"])
    return no_content()


def prune(req: Request) -> Response:
    from geedocker.api.filters import filters_arg
    from geedocker.containers import prune

    return json_response({"NetworksDeleted": list(prune.networks(req.layout, filters_arg(req)).deleted) or None})


def connect(req: Request) -> Response:
    from geedocker.network import endpoint
    from geedocker.network.options import parse_ip

    body = req.json()
    if not isinstance(body, dict) or not body.get("Container"):
        raise ApiError(400, "Container is required")
    ep = body.get("EndpointConfig") or {}
    ipam = ep.get("IPAMConfig") or {}
    ip = str(ipam.get("IPv4Address") or "")
    aliases = [str(a) for a in ep.get("Aliases") or []]
    rec = Engine.of(req.layout).containers.resolve(str(body["Container"]))
    endpoint.connect(req.layout, req.params["id"], rec.id, rec.name, parse_ip(ip) if ip else "", aliases)
    return Response(200, b"", content_type="")


def disconnect(req: Request) -> Response:
    from geedocker.network import endpoint

    body = req.json()
    if not isinstance(body, dict) or not body.get("Container"):
        raise ApiError(400, "Container is required")
    rec = Engine.of(req.layout).containers.resolve(str(body["Container"]))
    endpoint.disconnect(req.layout, req.params["id"], rec.id, rec.name)
    return Response(200, b"", content_type="")
