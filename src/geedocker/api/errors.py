"""The API's errors: an HTTP status and docker's ``{"message": ...}`` body; engine errors mapped to docker's codes."""

from __future__ import annotations

from geedocker.errors import (
    AuthenticationError,
    ContainerNotFound,
    ContainerStateError,
    GeeDockerError,
    ImageInUse,
    ImageNotFound,
    InvalidReference,
    NameConflictError,
    NotFoundError,
    UsageError,
    VolumeInUse,
    VolumeNotFound,
)
from geedocker.network.errors import AddressInUse, NetworkInUse, NetworkNotFound, PortInUse


class ApiError(Exception):
    """An answer other than success: ``status`` and the one-line ``message`` docker's clients print."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# Most specific first: the first class an error is an instance of gives its status (docker's daemon errors:
# errdefs.NotFound 404, Conflict 409, InvalidParameter 400, Unauthorized 401, everything else 500).
_STATUS: tuple[tuple[type[GeeDockerError], int], ...] = (
    (ContainerNotFound, 404),
    (ImageNotFound, 404),
    (NetworkNotFound, 404),
    (NotFoundError, 404),
    (VolumeNotFound, 404),
    (VolumeInUse, 409),
    (NameConflictError, 409),
    (ContainerStateError, 409),
    (ImageInUse, 409),
    (NetworkInUse, 409),
    (AddressInUse, 409),
    (PortInUse, 500),  # docker: "driver failed programming external connectivity": a 500
    (AuthenticationError, 401),
    (InvalidReference, 400),
    (UsageError, 400),
)


def status_of(e: GeeDockerError) -> int:
    for cls, status in _STATUS:
        if isinstance(e, cls):
            return status
    return 500


def from_engine(e: GeeDockerError) -> ApiError:
    return ApiError(status_of(e), str(e))
