"""The container a ``/containers/{id}/...`` request names, and a container's current record: what every
``api.container_*`` handler module starts from (they are thin handlers over ``geedocker.containers``, the same
functions as the CLI's commands)."""

from __future__ import annotations

from geedocker.api.errors import ApiError
from geedocker.api.messages import Request
from geedocker.containers.engine import Engine
from geedocker.containers.record import ContainerRecord
from geedocker.containers.store import ContainerStore
from geedocker.errors import ContainerNotFound, GeeDockerError


def store_of(req: Request) -> ContainerStore:
    """The containers of the store the request's service serves."""
    return Engine.of(req.layout).containers


def record(req: Request) -> ContainerRecord:
    """The container the request's path names (``{id}``: an id, a prefix of one, or a name): docker's 404 if none."""
    from geedocker.containers.refresh import refresh

    try:
        return refresh(req.layout, store_of(req).resolve(req.params["id"]))
    except ContainerNotFound as e:
        raise ApiError(404, f"No such container: {req.params['id']}") from e


def current(req: Request, rec: ContainerRecord) -> ContainerRecord | None:
    """The current record of ``rec`` (None once it is removed)."""
    from geedocker.containers.refresh import refresh

    try:
        return refresh(req.layout, store_of(req).load(rec.id))
    except GeeDockerError:
        return None
