"""Volumes on disk, as docker's ``local`` driver keeps them.

    $ROOT/volumes/<name>/_data         the volume's files (what containers mount)
    $ROOT/volumes/<name>/volume.json   its metadata: created time, labels, driver options

A volume appears whole or not at all: it is made in a temp dir beside the others (``_data`` and the metadata)
and renamed into place; it goes by being renamed aside and then removed. ``volumes.lock`` (under $RUN) orders
creation and removal with the containers that start to use a volume (see ``geedocker.volumes.usage``).
Names follow docker's rules (``[a-zA-Z0-9][a-zA-Z0-9_.-]+``); an anonymous volume gets 64 random hex
characters and docker 23's label ``com.docker.volume.anonymous``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from geedocker.errors import InvalidVolume, StoreError, VolumeError, VolumeNotFound
from geedocker.store.fsutil import atomic_write, file_lock, remove_tree
from geedocker.store.layout import Layout
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

ANONYMOUS_LABEL = "com.docker.volume.anonymous"
DRIVER = "local"
METADATA = "volume.json"
DATA = "_data"
MAX_METADATA_BYTES = 1024 * 1024
_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
# The ``-o`` options of the local driver (docker's volume/local: type, device, o; size needs a quota-capable fs).
DRIVER_OPTIONS = ("type", "device", "o")


@value
class Volume:
    """One volume's metadata. ``labels``/``options`` None: made implicitly (docker shows them as null)."""

    name: str
    created: str  # RFC 3339 in seconds, as docker's CreatedAt
    labels: tuple[tuple[str, str], ...] | None = None
    options: tuple[tuple[str, str], ...] | None = None
    driver: str = DRIVER

    @property
    def anonymous(self) -> bool:
        return any(k == ANONYMOUS_LABEL for k, _ in self.labels or ())

    def option(self, key: str) -> str:
        return dict(self.options or ()).get(key, "")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "created": self.created,
            "driver": self.driver,
            "labels": None if self.labels is None else dict(self.labels),
            "options": None if self.options is None else dict(self.options),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Volume:
        labels = d.get("labels")
        options = d.get("options")
        return cls(
            name=str(d["name"]),
            created=str(d.get("created", "")),
            driver=str(d.get("driver", DRIVER)),
            labels=None if labels is None else tuple(sorted((str(k), str(v)) for k, v in labels.items())),
            options=None if options is None else tuple(sorted((str(k), str(v)) for k, v in options.items())),
        )


def validate_name(name: str) -> str:
    """Docker's rules for a local volume's name (its messages too)."""
    if len(name) == 1:
        raise InvalidVolume(
            f"create {name}: volume name is too short, names should be at least two alphanumeric characters"
        )
    if not _NAME_RE.fullmatch(name):
        raise InvalidVolume(
            f'create {name}: "{name}" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'
        )
    return name


def validate_options(name: str, options: Mapping[str, str]) -> None:
    """The local driver's ``-o`` keys (docker 20.10's daemon: 'invalid option: "KEY"'), and a device wants a
    type."""
    for k in options:
        if k not in DRIVER_OPTIONS:
            raise InvalidVolume(f'create {name}: invalid option: "{k}"')
    if options.get("type") and options.get("type") != "tmpfs" and not options.get("device"):
        raise InvalidVolume(f'create {name}: missing required option: "device"')
    if options.get("device") and not options.get("type"):
        raise InvalidVolume(f'create {name}: missing required option: "type"')


class VolumeStore:
    """The ``volumes/`` directory of a store."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.base = layout.root / "volumes"

    def dir(self, name: str) -> Path:
        return self.base / name

    def data(self, name: str) -> Path:
        """The directory containers mount (a tmpfs or device volume is mounted here while in use)."""
        return self.base / name / DATA

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Volume creation, removal and a container taking volumes into use run one at a time."""
        with file_lock(self.layout.lock("volumes")):
            yield

    def names(self) -> list[str]:
        try:
            entries = os.listdir(self.base)
        except FileNotFoundError:
            return []
        return sorted(n for n in entries if not n.startswith(".") and (self.base / n / METADATA).is_file())

    def get(self, name: str) -> Volume:
        path = self.dir(name) / METADATA
        if not name or "/" in name or name.startswith("."):
            raise VolumeNotFound(f"No such volume: {name}")
        try:
            with open(path, "rb") as f:
                raw = f.read(MAX_METADATA_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError) as e:
            raise VolumeNotFound(f"No such volume: {name}") from e
        except OSError as e:
            raise StoreError(f"reading {path}: {e.strerror}") from e
        try:
            return Volume.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise StoreError(f"{path}: corrupt volume metadata: {e}") from e

    def exists(self, name: str) -> bool:
        return (self.dir(name) / METADATA).is_file()

    def list(self) -> list[Volume]:
        out = []
        for n in self.names():
            with contextlib.suppress(VolumeNotFound, StoreError):
                out.append(self.get(n))
        return out

    def create(
        self,
        name: str = "",
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> tuple[Volume, bool]:
        """The volume ``name`` (a new anonymous one when empty), made unless it exists: (volume, made).

        As docker, creating a volume that exists returns it unchanged (its labels and options stay)."""
        with self.locked():
            return self.create_unlocked(name, labels, options)

    def create_unlocked(
        self,
        name: str = "",
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> tuple[Volume, bool]:
        """``create`` for a caller that holds ``locked``."""
        if not name:
            name = os.urandom(32).hex()
            labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
        validate_name(name)
        validate_options(name, options or {})
        if self.exists(name):
            return self.get(name), False
        vol = Volume(
            name=name,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            labels=None if labels is None else tuple(sorted(labels.items())),
            options=None if options is None else tuple(sorted(options.items())),
        )
        self._write_new(vol)
        from geedocker.store import events

        events.emit(self.layout, "volume", "create", vol.name, {"driver": vol.driver})
        return vol, True

    def _write_new(self, vol: Volume) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        tmp = self.base / f".new-{os.getpid()}-{os.urandom(4).hex()}"
        try:
            tmp.mkdir(mode=0o701)
            (tmp / DATA).mkdir(mode=0o755)
            os.chmod(tmp / DATA, 0o755)  # whatever the umask: docker's local volumes are 0755 root:root
            atomic_write(tmp / METADATA, json.dumps(vol.to_json(), indent=1).encode(), 0o600)
            os.rename(tmp, self.dir(vol.name))
        except OSError as e:
            raise VolumeError(f"create {vol.name}: {e.strerror or e}") from e
        finally:
            remove_tree(tmp)

    def remove_unlocked(self, name: str) -> None:
        """Take the volume away (the caller holds ``locked`` and has checked no container uses it)."""
        src = self.dir(name)
        if not (src / METADATA).is_file():
            raise VolumeNotFound(f"No such volume: {name}")
        aside = self.base / f".gone-{name}-{os.urandom(4).hex()}"
        try:
            os.rename(src, aside)
        except OSError as e:
            raise VolumeError(f"remove {name}: {e.strerror or e}") from e
        remove_tree(aside)
        if aside.exists():
            raise VolumeError(f"remove {name}: could not remove {aside}")
        from geedocker.store import events

        events.emit(self.layout, "volume", "destroy", name, {"driver": DRIVER})
