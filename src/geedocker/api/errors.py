"""The API's errors: an HTTP status and docker's ``{"message": ...}`` body; engine errors mapped to docker's codes."""

from __future__ import annotations

from geedocker.containers.attachment import DetachKeysError
from geedocker.containers.control import DaemonError as ContainerDaemonError
from geedocker.containers.copyerrors import CopyError, CopyFailed, CopyPathNotFound, CopyReadOnly
from geedocker.errors import (
    AuthenticationError,
    CommandNotExecutable,
    CommandNotFound,
    ContainerNotFound,
    ContainerStateError,
    DaemonError,
    DigestError,
    GeeDockerError,
    ImageInUse,
    ImageNotFound,
    InvalidReference,
    InvalidVolume,
    NameConflictError,
    NotFoundError,
    PlatformError,
    UsageError,
    VolumeInUse,
    VolumeNotFound,
)
from geedocker.format.nodes import TemplateError
from geedocker.network.errors import AddressInUse, NetworkExists, NetworkInUse, NetworkNotFound, PortInUse


class ApiError(Exception):
    """An answer other than success: ``status`` and the one-line ``message`` docker's clients print."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# Most specific first: the first class an error is an instance of gives its status, as dockerd's errdefs map its
# errors (NotFound 404, Conflict 409, Forbidden 403, InvalidParameter 400, Unauthorized 401, anything else 500:
# a store, runtime or network failure). Every class of ``geedocker.errors`` and the engine's own has its line or
# is meant to be a 500 (``tests/api/test_errors.py`` walks them all).
_STATUS: tuple[tuple[type[GeeDockerError], int], ...] = (
    (ContainerNotFound, 404),
    (ImageNotFound, 404),
    (NetworkNotFound, 404),
    (VolumeNotFound, 404),
    (NotFoundError, 404),  # a registry's unknown repository, tag or manifest
    (PlatformError, 404),  # dockerd: "no matching manifest for linux/amd64 in the manifest list entries"
    (CopyPathNotFound, 404),  # dockerd: "Could not find the file X in container Y"
    (CopyReadOnly, 403),  # the API reference: "the volume or container rootfs is marked as read-only"
    (CopyFailed, 500),  # an I/O error in the copying child
    (CopyError, 400),  # dockerd: "extraction point is not a directory" and the copy's other refusals
    (VolumeInUse, 409),
    (NameConflictError, 409),
    (ContainerStateError, 409),
    (ContainerDaemonError, 409),  # "Container X is not running", "... is already paused": the state forbids it
    (ImageInUse, 409),
    (NetworkExists, 409),
    (AddressInUse, 409),
    (NetworkInUse, 403),  # libnetwork's ActiveEndpointsError is errdefs.Forbidden
    (PortInUse, 500),  # docker: "driver failed programming external connectivity": a 500
    (AuthenticationError, 401),
    (InvalidReference, 400),
    (DigestError, 400),
    (InvalidVolume, 400),
    (DetachKeysError, 400),
    (TemplateError, 400),
    (CommandNotFound, 400),  # dockerd: a start whose executable is missing is an invalid config (400)
    (CommandNotExecutable, 400),
    (DaemonError, 400),  # what docker's daemon refuses as a parameter: an unknown filter (FilterError), ...
    (UsageError, 400),
)


def status_of(e: GeeDockerError) -> int:
    for cls, status in _STATUS:
        if isinstance(e, cls):
            return status
    return 500


def from_engine(e: GeeDockerError) -> ApiError:
    return ApiError(status_of(e), str(e))
