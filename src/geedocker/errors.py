"""One exception tree for all of geedocker.

Every error knows the exit code the CLI returns for it (docker's conventions: 125 for an engine
error, 126 when the command cannot be invoked, 127 when it is not found)::

    GeeDockerError (125)
    +-- UsageError                 a bad flag or argument value
    |   +-- DaemonRefusal          one that docker's daemon refuses (create: exit 1)
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
        +-- InvalidVolume          a name or driver option the local driver refuses
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


def causes(e: BaseException) -> list[str]:
    """The chain of exceptions behind ``e`` (``raise ... from`` or raised while handling), nearest first,
    one line each as ``Type: message``; what ``-D`` prints below the error."""
    out: list[str] = []
    seen = {id(e)}
    cur: BaseException | None = e
    while cur is not None:
        nxt = cur.__cause__ if cur.__cause__ is not None or cur.__suppress_context__ else cur.__context__
        if nxt is None or id(nxt) in seen:
            break
        seen.add(id(nxt))
        text = " ".join(str(nxt).split())  # one line, even for a multi-line message
        out.append(f"{type(nxt).__name__}: {text}" if text else type(nxt).__name__)
        cur = nxt
    return out


def describe(e: BaseException, debug: bool) -> str:
    """``e``'s one-line message; with ``debug``, followed by its causes, one ``caused by:`` line each."""
    if not debug:
        return str(e)
    return "\n".join([str(e), *(f"  caused by: {c}" for c in causes(e))])


class DaemonError(GeeDockerError):
    """What docker's daemon refuses (an unknown filter, a missing network): docker's CLI prints it after
    "Error response from daemon: " and exits 1."""

    exit_code = 1
    prefix = "Error response from daemon: "


class UsageError(GeeDockerError):
    """A bad flag, argument or option value."""


class DaemonRefusal(UsageError):
    """A ``run``/``create`` flag value that docker's CLI passes on and its daemon refuses (a ``-v`` mode, a log
    option): "Error response from daemon: ..."; ``run`` exits 125 for it, ``create`` 1 (``geedocker.cli.create``)."""

    prefix = "Error response from daemon: "


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
    exit_code = 1  # docker's daemon answers it; run and create make it 125
    prefix = "Error response from daemon: "

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
    """No container by that name or ID (docker's daemon answers it: exit 1; run and create make it 125)."""

    exit_code = 1
    prefix = "Error response from daemon: "


class ContainerStateError(ContainerError):
    """The container's status forbids the operation (a daemon-side error: exit 1; run and create make it 125)."""

    exit_code = 1
    prefix = "Error response from daemon: "


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
    prefix = "Error response from daemon: "


class VolumeNotFound(VolumeError):
    """No volume by that name."""


class VolumeInUse(VolumeError):
    """A volume that a container still uses."""


class InvalidVolume(VolumeError):
    """A volume name or driver option the local driver refuses (dockerd's invalid parameter)."""
