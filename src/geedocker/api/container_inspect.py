"""``/containers/json`` and ``/containers/{id}/json``: the list of containers (with docker's filters) and one
container's inspect document, with the keys docker's clients read without looking."""

from __future__ import annotations

import time
from typing import Any

from geedocker.api.container_lookup import store_of
from geedocker.api.errors import ApiError
from geedocker.api.filters import filters_arg
from geedocker.api.messages import Request, Response, json_response
from geedocker.containers.record import ContainerRecord, Status
from geedocker.errors import ContainerNotFound, GeeDockerError

_FILTERS = {"id", "name", "label", "status", "ancestor", "exited", "network", "before", "since", "health",
            "isolation", "volume", "expose", "publish", "is-task"}  # fmt: skip


def _matches(rec: ContainerRecord, f: dict[str, list[str]]) -> bool:
    labels = dict(rec.options.labels)
    for key, values in f.items():
        if not values:
            continue
        if key == "id" and not any(rec.id.startswith(v) for v in values):
            return False
        if key == "name" and not any(v.lstrip("/") in rec.name for v in values):
            return False
        if key == "status" and rec.state.status.value not in values:
            return False
        if key == "exited" and not (rec.state.status == Status.EXITED and str(rec.state.exit_code) in values):
            return False
        if key == "ancestor" and not any(v in (rec.image, rec.image_id) or rec.image_id.removeprefix(
                "sha256:").startswith(v) or rec.image.startswith(v + ":") for v in values):  # fmt: skip
            return False
        if key == "network" and rec.options.network not in values:
            return False
        if key == "label":
            for v in values:
                k, eq, val = v.partition("=")
                if k not in labels or (eq and labels[k] != val):
                    return False
    return True


def _list_entry(req: Request, rec: ContainerRecord, now: float) -> dict[str, Any]:
    from geedocker import network
    from geedocker.containers.ps import status_text
    from geedocker.timefmt import parse_rfc3339

    t = parse_rfc3339(rec.created)
    settings = network.describe(req.layout, rec.id, rec.options.network)
    ports = []
    for key, binds in (settings.get("Ports") or {}).items():
        port, _, proto = key.partition("/")
        for b in binds or [None]:
            p: dict[str, Any] = {"PrivatePort": int(port), "Type": proto}
            if b:
                p.update(IP=b.get("HostIp") or "0.0.0.0", PublicPort=int(b.get("HostPort") or 0))
            ports.append(p)
    return {
        "Id": rec.id,
        "Names": ["/" + rec.name],
        "Image": rec.image or rec.image_id,
        "ImageID": rec.image_id,
        "Command": " ".join(rec.args),
        "Created": int(t.timestamp()) if t else 0,
        "Ports": ports,
        "Labels": dict(rec.options.labels),
        "State": rec.state.status.value,
        "Status": status_text(rec, now),
        "HostConfig": {"NetworkMode": rec.options.network},
        "NetworkSettings": {"Networks": settings.get("Networks") or {}},
        "Mounts": [{"Type": m.type, "Source": m.source, "Destination": m.target, "Mode": "ro" if m.readonly else "",
                    "RW": not m.readonly, "Propagation": ""} for m in rec.options.mounts],  # fmt: skip
    }


def list_(req: Request) -> Response:
    from geedocker.containers.refresh import refresh

    f = filters_arg(req, _FILTERS)
    show_all = req.flag("all")
    limit = req.int_arg("limit", -1) or -1
    now = time.time()
    recs = []
    for rec in store_of(req).list():
        try:
            rec = refresh(req.layout, rec)
        except GeeDockerError:
            continue
        if not show_all and rec.state.status != Status.RUNNING and "status" not in f and "exited" not in f:
            continue
        if _matches(rec, f):
            recs.append(rec)
    recs.sort(key=lambda r: r.created, reverse=True)
    if limit > 0:
        recs = recs[:limit]
    return json_response([_list_entry(req, r, now) for r in recs])


def inspect(req: Request) -> Response:
    from geedocker.containers.inspect import inspect_container

    try:
        d = inspect_container(req.layout, req.params["id"])
    except ContainerNotFound as e:
        raise ApiError(404, f"No such container: {req.params['id']}") from e
    # keys docker's clients index without looking (docker-py reads HostConfig.LogConfig.Type after a run)
    host = d.setdefault("HostConfig", {})
    host.setdefault("LogConfig", {"Type": "json-file", "Config": {}})
    host.setdefault("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0})
    host.setdefault("PortBindings", _port_bindings(d))
    host.setdefault("VolumesFrom", None)
    host.setdefault("Links", None)
    d.setdefault("Config", {}).setdefault("ExposedPorts", None)
    d["Config"].setdefault("Volumes", None)
    return json_response(d)


def _port_bindings(d: dict[str, Any]) -> dict[str, Any]:
    ports = (d.get("NetworkSettings") or {}).get("Ports") or {}
    return {k: v for k, v in ports.items() if v}


