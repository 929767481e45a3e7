"""One exception tree for all of geedocker.

Every error knows the exit code the CLI returns for it (docker's conventions: 125 for an engine
error, 126 when the command cannot be invoked, 127 when it is not found)::

    GeeDockerError (125)
    +-- UsageError                 a bad flag or argument value
    +-- InvalidReference           an image reference that does not parse
    +-- DigestError                a malformed digest string
    +-- VerificationError          bytes whose size or digest is not what was promised
    +-- RegistryError              talking to a registry went wrong
    |   +-- AuthenticationError    credentials refused or missing
    |   +-- NotFoundError          unknown repository, tag, manifest or blob
    |   +-- TransportError         connection, TLS, protocol or repeated server failures
    |   +-- ManifestError          a manifest we cannot use (schema 1, unknown type, too large)
    |   +-- PlatformError          no manifest in an index for the wanted platform
    +-- StoreError                 the on-disk store
    |   +-- ImageNotFound
    |   +-- ImageInUse
    |   +-- DiskFullError
    +-- ArchiveError               a layer or image archive we refuse
    |   +-- UnsafeEntryError       an entry that would escape the root
    |   +-- LimitExceededError     too many bytes or entries (a bomb)
    +-- ContainerError             the container engine and runtime
    |   +-- ContainerNotFound
    |   +-- ContainerStateError    an operation the container's status forbids
    |   +-- NameConflictError
    |   +-- CommandNotExecutable (126)
    |   +-- CommandNotFound (127)
    +-- NetworkError               bridges, addresses, ports
    +-- VolumeError (1)            volumes (a daemon-side error in docker: exit 1)
        +-- VolumeNotFound
        +-- VolumeInUse
"""

from __future__ import annotations


class GeeDockerError(Exception):
    """Base of every error geedocker raises on purpose."""

    exit_code: int = 125

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(GeeDockerError):
    """A bad flag, argument or option value."""


class InvalidReference(GeeDockerError):
    """An image reference that does not parse."""


class DigestError(GeeDockerError):
    """A malformed or unsupported digest string."""


class VerificationError(GeeDockerError):
    """Content whose size or digest differs from what its descriptor promised."""


class RegistryError(GeeDockerError):
    """A registry answered with an error or could not be talked to."""


class AuthenticationError(RegistryError):
    """The registry refused our credentials, or wants some we do not have."""


class NotFoundError(RegistryError):
    """Unknown repository, tag, manifest or blob."""


class TransportError(RegistryError):
    """Connection, TLS or protocol failure, or a server error that retries did not cure."""


class ManifestError(RegistryError):
    """A manifest we cannot use: schema 1, an unknown media type, too large, malformed."""


class PlatformError(RegistryError):
    """An index offers no manifest for the wanted platform."""


class StoreError(GeeDockerError):
    """The on-disk store is missing something or cannot be written."""


class ImageNotFound(StoreError):
    """No local image by that name or ID."""


class ImageInUse(StoreError):
    """An image that a container (or another tag) still needs."""


class DiskFullError(StoreError):
    """The disk ran out of space; partial files were removed."""


class ArchiveError(GeeDockerError):
    """A layer or image archive that is malformed or refused."""


class UnsafeEntryError(ArchiveError):
    """A tar entry that would write outside the root or through a link."""


class LimitExceededError(ArchiveError):
    """An archive over the caps on bytes or entries."""


class ContainerError(GeeDockerError):
    """The container engine or runtime failed."""


class ContainerNotFound(ContainerError):
    """No container by that name or ID."""


class ContainerStateError(ContainerError):
    """The container's status forbids the operation."""


class NameConflictError(ContainerError):
    """A container name that is already taken."""


class CommandNotExecutable(ContainerError):
    """The container's command exists but cannot be run."""

    exit_code = 126


class CommandNotFound(ContainerError):
    """The container's command does not exist."""

    exit_code = 127


class NetworkError(GeeDockerError):
    """Bridges, veths, addresses, firewall rules or published ports."""


class VolumeError(GeeDockerError):
    """Creating, finding, mounting or removing a volume failed (docker's daemon-side errors: exit 1)."""

    exit_code = 1


class VolumeNotFound(VolumeError):
    """No volume by that name."""


class VolumeInUse(VolumeError):
    """A volume that a container still uses."""
