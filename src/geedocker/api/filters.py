"""The ``filters`` query parameter docker's clients send: a JSON object of ``{key: [values]}``, or the older
``{key: {value: true}}`` form that docker still accepts."""

from __future__ import annotations

from geedocker.api.errors import ApiError
from geedocker.api.server import Request


def filters_arg(req: Request) -> dict[str, list[str]]:
    raw = req.json_arg("filters") or {}
    if not isinstance(raw, dict):
        raise ApiError(400, "filters: a JSON object was expected")
    out: dict[str, list[str]] = {}
    for k, v in raw.items():
        if isinstance(v, list):
            out[str(k)] = [str(x) for x in v]
        elif isinstance(v, dict):
            out[str(k)] = [str(x) for x, on in v.items() if on]
        else:
            raise ApiError(400, f"filters: the values of {k!r} must be a list")
    return out
