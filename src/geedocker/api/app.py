"""Routing: docker's paths (with or without a ``/vX.Y`` prefix) to the handlers; errors to docker's answers.

Every route names a handler in one of the endpoint modules (``api.system``, ``api.container_lifecycle``,
``api.container_inspect``, ``api.container_logs``, ``api.container_attach``, ``api.container_commit``,
``api.container_control``, ``api.execs``, ``api.images``, ``api.networks``, ``api.volumes``, ...); a path docker has
that geedocker does not serve answers 501 naming it, and an unknown one 404, so a client never waits on a request
nobody will answer.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from geedocker.api.errors import ApiError, from_engine
from geedocker.api.messages import Handler, Hijack, Request, Response, json_response
from geedocker.errors import GeeDockerError
from geedocker.logger import get_logger
from geedocker.store.layout import Layout

log = get_logger(__name__)

API_VERSION = "1.41"  # docker 20.10's: what its CLI, docker-py 7 and compose 1.29 negotiate down to
MIN_API_VERSION = "1.12"

# (method, path pattern, "module:function"); {name} matches one path segment, {name:.*} the rest (image names
# have slashes). Methods: GET also answers HEAD.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/_ping", "system:ping"),
    ("GET", "/version", "system:version"),
    ("GET", "/info", "system:info"),
    ("GET", "/system/df", "system:df"),
    ("POST", "/auth", "system:auth"),
    ("GET", "/events", "events:stream"),
    ("POST", "/containers/create", "container_lifecycle:create"),
    ("GET", "/containers/json", "container_inspect:list_"),
    ("POST", "/containers/prune", "container_lifecycle:prune"),
    ("GET", "/containers/{id}/json", "container_inspect:inspect"),
    ("POST", "/containers/{id}/start", "container_lifecycle:start"),
    ("POST", "/containers/{id}/stop", "container_lifecycle:stop"),
    ("POST", "/containers/{id}/kill", "container_lifecycle:kill"),
    ("POST", "/containers/{id}/restart", "container_lifecycle:restart"),
    ("POST", "/containers/{id}/wait", "container_lifecycle:wait"),
    ("GET", "/containers/{id}/logs", "container_logs:logs"),
    ("POST", "/containers/{id}/attach", "container_attach:attach"),
    ("POST", "/containers/{id}/resize", "container_attach:resize"),
    ("DELETE", "/containers/{id}", "container_lifecycle:remove"),
    ("GET", "/containers/{id}/changes", "container_commit:changes"),
    ("GET", "/containers/{id}/export", "container_commit:export"),
    ("POST", "/commit", "container_commit:commit"),
    ("POST", "/containers/{id}/pause", "container_control:pause"),
    ("POST", "/containers/{id}/unpause", "container_control:unpause"),
    ("GET", "/containers/{id}/top", "container_control:top"),
    ("POST", "/containers/{id}/rename", "container_control:rename"),
    ("GET", "/containers/{id}/archive", "archive:get"),
    ("PUT", "/containers/{id}/archive", "archive:put"),
    ("POST", "/containers/{id}/update", "resources:update"),
    ("GET", "/containers/{id}/stats", "resources:stats"),
    ("POST", "/containers/{id}/exec", "execs:create"),
    ("POST", "/exec/{id}/start", "execs:start"),
    ("POST", "/exec/{id}/resize", "execs:resize"),
    ("GET", "/exec/{id}/json", "execs:inspect"),
    ("POST", "/images/create", "images:create"),
    ("GET", "/images/json", "images:list_"),
    ("POST", "/images/prune", "images:prune"),
    ("GET", "/images/search", "images:search"),
    ("GET", "/images/get", "images:get_many"),
    ("POST", "/images/load", "images:load"),
    ("GET", "/images/{name:.*}/json", "images:inspect"),
    ("GET", "/images/{name:.*}/history", "images:history"),
    ("GET", "/images/{name:.*}/get", "images:get"),
    ("POST", "/images/{name:.*}/tag", "images:tag"),
    ("POST", "/images/{name:.*}/push", "images:push"),
    ("DELETE", "/images/{name:.*}", "images:remove"),
    ("POST", "/build", "build:build"),
    ("POST", "/build/prune", "build:prune"),
    ("GET", "/networks", "networks:list_"),
    ("POST", "/networks/create", "networks:create"),
    ("POST", "/networks/prune", "networks:prune"),
    ("GET", "/networks/{id}", "networks:inspect"),
    ("DELETE", "/networks/{id}", "networks:remove"),
    ("POST", "/networks/{id}/connect", "networks:connect"),
    ("POST", "/networks/{id}/disconnect", "networks:disconnect"),
    ("GET", "/volumes", "volumes:list_"),
    ("POST", "/volumes/create", "volumes:create"),
    ("POST", "/volumes/prune", "volumes:prune"),
    ("GET", "/volumes/{name}", "volumes:inspect"),
    ("DELETE", "/volumes/{name}", "volumes:remove"),
)

# Docker's endpoints that geedocker does not serve (yet): 501 with their name.
NOT_IMPLEMENTED: tuple[tuple[str, str], ...] = (
    ("GET", "/containers/{id}/attach/ws"),
    ("GET", "/distribution/{name:.*}/json"), ("POST", "/session"),
    ("GET", "/swarm"), ("POST", "/swarm/init"), ("GET", "/nodes"), ("GET", "/services"), ("GET", "/tasks"),
    ("GET", "/secrets"), ("GET", "/configs"), ("GET", "/plugins"), ("POST", "/grpc"),
)  # fmt: skip

_VERSION_RE = re.compile(r"^/v(\d+)\.(\d+)(/.*)$")


def _compile(pattern: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", pattern):
        if part.startswith("{"):
            name, _, rx = part[1:-1].partition(":")
            out += f"(?P<{name}>{rx or '[^/]+'})"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$")


def _version_tuple(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor)


class App:
    """The request -> handler table for one store (``layout``); handlers get the layout on ``req.layout``."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.routes = [(m, _compile(p), target) for m, p, target in ROUTES]
        self.missing = [(m, _compile(p), p) for m, p in NOT_IMPLEMENTED]
        self._handlers: dict[str, Handler] = {}
        self.state: dict[str, Any] = {}  # per-service objects of the endpoint modules (exec sessions, attaches)

    def handler(self, target: str) -> Handler:
        h = self._handlers.get(target)
        if h is None:
            module, _, func = target.partition(":")
            h = getattr(importlib.import_module(f"geedocker.api.{module}"), func)
            self._handlers[target] = h
        return h

    def __call__(self, req: Request) -> Response | Hijack:
        m = _VERSION_RE.match(req.path)
        if m:
            version = f"{m.group(1)}.{m.group(2)}"
            if _version_tuple(version) > _version_tuple(API_VERSION):
                raise ApiError(400, f"client version {version} is too new. Maximum supported API version is "
                                    f"{API_VERSION}")  # fmt: skip
            if _version_tuple(version) < _version_tuple(MIN_API_VERSION):
                raise ApiError(400, f"client version {version} is too old. Minimum supported API version is "
                                    f"{MIN_API_VERSION}, please upgrade your client to a newer version")  # fmt: skip
            req.version = version
            req.path = m.group(3)
        req.layout = self.layout
        req.app = self
        method = "GET" if req.method == "HEAD" else req.method
        allowed = False
        for rm, rx, target in self.routes:
            mm = rx.match(req.path)
            if not mm:
                continue
            if rm != method:
                allowed = True
                continue
            req.params = mm.groupdict()
            return _call(self.handler(target), req)
        for rm, rx, pattern in self.missing:
            if rx.match(req.path) and rm in (req.method, method):
                raise ApiError(501, f"{req.method} {pattern} is not implemented by geedocker")
        if allowed:
            raise ApiError(405, f"method {req.method} is not allowed on {req.path}")
        raise ApiError(404, f"page not found: {req.method} {req.path}")


def _call(h: Callable[[Request], Response | Hijack], req: Request) -> Response | Hijack:
    try:
        return h(req)
    except ApiError:
        raise
    except GeeDockerError as e:
        raise from_engine(e) from e
    except Exception as e:
        log.error("%s %s: %s: %s", req.method, req.raw_path, type(e).__name__, e, exc_info=True)
        return json_response({"message": f"internal error: {type(e).__name__}: {e}"}, 500)
