"""``api.errors``: every engine error class answers with the status dockerd gives its error (errdefs)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import geedocker
from geedocker.api.errors import from_engine, status_of
from geedocker.errors import GeeDockerError

# Each class by name, and dockerd's status for it: a class added to the engine must be placed here.
EXPECTED = {
    # 404: not found
    "ContainerNotFound": 404, "ImageNotFound": 404, "NetworkNotFound": 404, "VolumeNotFound": 404,
    "NotFoundError": 404, "PlatformError": 404, "CopyPathNotFound": 404,
    # 409: conflict; 403: libnetwork's active endpoints; 401: the registry refused the credentials
    "VolumeInUse": 409, "NameConflictError": 409, "ContainerStateError": 409, "DaemonError@containers.control": 409,
    "ImageInUse": 409, "NetworkExists": 409, "AddressInUse": 409, "NetworkInUse": 403, "AuthenticationError": 401,
    # 400: invalid parameter
    "UsageError": 400, "DaemonRefusal": 400, "InvalidReference": 400, "DigestError": 400, "InvalidVolume": 400,
    "DetachKeysError": 400,
    "FilterError": 400, "DaemonError@errors": 400, "ProfileError": 400, "CommandNotFound": 400,
    "CommandNotExecutable": 400, "TemplateError": 400, "FormatError": 400, "TemplateParseError": 400,
    "SourceError": 400, "DockerfileError": 400, "SubstitutionError": 400, "CopyError": 400,
    # 403: a read-only rootfs or volume for cp
    "CopyReadOnly": 403,
    # 500: the engine, a store, the runtime, the network or a registry failed
    "CopyFailed": 500,
    "BuildError": 500, "RunFailed": 500, "Cancelled": 500, "ArchiveError": 500, "UnsafeEntryError": 500,
    "LimitExceededError": 500,
    "ContainerError": 500, "StoreError": 500, "DiskFullError": 500, "VerificationError": 500, "RegistryError": 500,
    "TransportError": 500, "ManifestError": 500, "ConnectionFailure": 500, "TLSFailure": 500,
    "CredentialsFileError": 500, "PullCancelled": 500, "NetworkError": 500, "AddressPoolExhausted": 500,
    "PortInUse": 500, "NetlinkError": 500, "VolumeError": 500, "CapabilityError": 500, "CgroupError": 500,
    "ConsoleError": 500, "DeviceError": 500, "HookError": 500, "NamespaceError": 500, "UnsafePathError": 500,
    "ProcessSetupError": 500, "MountError": 500, "SeccompError": 500, "SpecError": 500, "SyncError": 500,
}  # fmt: skip


def _engine_error_classes() -> Iterator[type[GeeDockerError]]:
    for m in pkgutil.walk_packages(geedocker.__path__, "geedocker."):
        if not m.name.startswith(("geedocker.cli", "geedocker.__main__")):
            importlib.import_module(m.name)
    todo, seen = [GeeDockerError], set()
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen and sub.__module__.startswith("geedocker.") and ".cli" not in sub.__module__:
                seen.add(sub)
                todo.append(sub)
                yield sub


def _key(cls: type) -> str:
    return f"{cls.__name__}@{cls.__module__.removeprefix('geedocker.')}" if cls.__name__ == "DaemonError" else \
        cls.__name__


def test_every_engine_error_class_has_dockers_status() -> None:
    classes = {_key(c): c for c in _engine_error_classes()}
    assert set(classes) == set(EXPECTED)  # a new class needs its status decided here
    wrong = {k: status_of(c.__new__(c)) for k, c in classes.items() if status_of(c.__new__(c)) != EXPECTED[k]}
    assert wrong == {}


def test_the_answer_keeps_the_engines_message() -> None:
    from geedocker.containers.filters import FilterError

    e = from_engine(FilterError("Invalid filter 'foo'"))
    assert (e.status, e.message) == (400, "Invalid filter 'foo'")
