"""The ``filters`` query parameter docker's clients send: a JSON object of ``{key: [values]}``, or the older
``{key: {value: true}}`` form that docker still accepts."""

from __future__ import annotations

from collections.abc import Collection

from geedocker.api.errors import ApiError
from geedocker.api.messages import Request


def filters_arg(req: Request, allowed: Collection[str] | None = None) -> dict[str, list[str]]:
    """The request's filters; with ``allowed``, another key is dockerd's 400 "invalid filter"."""
    raw = req.json_arg("filters") or {}
    if not isinstance(raw, dict):
        raise ApiError(400, "filters: a JSON object was expected")
    out: dict[str, list[str]] = {}
    for k, v in raw.items():
        if allowed is not None and k not in allowed:
            raise ApiError(400, f"invalid filter '{k}'")
        if isinstance(v, list):
            out[str(k)] = [str(x) for x in v]
        elif isinstance(v, dict):
            out[str(k)] = [str(x) for x, on in v.items() if on]
        else:
            raise ApiError(400, f"filters: the values of {k!r} must be a list")
    return out
