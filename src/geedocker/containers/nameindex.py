"""The name index: ``containers/.names/<name>``, one file per container name holding the id of the container
that has it, so that a new container's name is checked at the same cost however many containers there are.
Names are unique: whoever claims or releases one holds ``locks/containers.lock`` (``release_stale`` takes it
itself). Apart from ``containers.store`` (which keeps one, as ``ContainerStore.names``) because keeping names
unique is a job of its own, and ``rename`` does it without the records.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from geedocker.containers.record import ContainerRecord, is_container_id
from geedocker.store.fsutil import atomic_write, file_lock, fsync_dir, remove_tree
from geedocker.store.layout import Layout

NAME_FILE_MAX = 200  # longer names are kept in the index under their hash
NAMES_DIR = ".names"  # below the containers dir: one file per container name, holding the container's id


class NameIndex:
    """The ``containers/.names/`` directory of a store."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def file(self, name: str) -> Path:
        """The entry of ``name``."""
        if len(name.encode()) > NAME_FILE_MAX:
            # docker takes names of any length; a file name has at most 255 bytes. A long name is kept under its
            # hash ('=' never starts a container name, so the two kinds never meet).
            import hashlib  # long names only: OpenSSL's import costs ms of every start

            name = "=" + hashlib.sha256(name.encode()).hexdigest()
        return self.layout.containers / NAMES_DIR / name

    def owner(self, name: str) -> str:
        """The id of the container that has ``name`` ("" if none)."""
        try:
            return self.file(name).read_text().strip()
        except OSError:
            return ""

    def claim(self, name: str, cid: str) -> bool:
        """Take ``name`` for ``cid`` (under the containers lock): False if a container that exists has it.
        An entry whose container is gone (a crash between the two) is taken over."""
        path = self.file(name)
        owner = self.owner(name)
        if is_container_id(owner) and owner != cid and self.layout.container_dir(owner).is_dir():
            return False  # also when its record is damaged: ``rm -f`` frees the name
        atomic_write(path, cid.encode(), 0o600)  # durable: a name lost in a crash could be given twice
        return True

    def release(self, name: str, cid: str) -> None:
        """Free ``name`` if ``cid`` holds it (under the containers lock)."""
        if name and self.owner(name) == cid:
            with contextlib.suppress(FileNotFoundError):
                self.file(name).unlink()

    def stale(self) -> list[str]:
        """Index entries whose container is gone (a crash between a removal and the entry's release)."""
        index = self.layout.containers / NAMES_DIR
        try:
            entries = sorted(os.listdir(index))
        except OSError:
            return []
        stale = []
        for entry in entries:
            try:
                with open(index / entry) as f:
                    owner = f.read(100).strip()
            except OSError:
                continue
            if not (is_container_id(owner) and self.layout.container_dir(owner).is_dir()):
                stale.append(entry)
        return stale

    def release_stale(self) -> list[str]:
        """Free the ``stale`` entries (under the containers lock, so no create is between claim and dir)."""
        if not (self.layout.containers / NAMES_DIR).is_dir():
            return []
        with file_lock(self.layout.lock("containers")):
            stale = self.stale()
            for entry in stale:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.layout.containers / NAMES_DIR / entry)
        return stale

    def ensure(self, records: Callable[[], list[ContainerRecord]]) -> None:
        """Make the index from the ``records()`` once (a store made before it existed), under the containers lock."""
        names = self.layout.containers / NAMES_DIR
        if names.is_dir():
            return
        tmp = self.layout.containers / f"{NAMES_DIR}.{os.getpid()}.tmp"
        remove_tree(tmp)
        tmp.mkdir(mode=0o700)
        for rec in records():
            if rec.name and "/" not in rec.name and not rec.name.startswith("."):
                atomic_write(tmp / self.file(rec.name).name, rec.id.encode(), 0o600)
        os.rename(tmp, names)
        fsync_dir(self.layout.containers)

    def name_of(self, cid: str) -> str:
        """The name the index gives ``cid`` ("" if none): a scan of the index, for damaged records only."""
        index = self.layout.containers / NAMES_DIR
        try:
            entries = sorted(os.listdir(index))
        except OSError:
            return ""
        for entry in entries:
            if entry.startswith("="):
                continue  # a long name, kept under its hash: the name itself is not there
            try:
                with open(index / entry) as f:
                    if f.read(100).strip() == cid:
                        return entry
            except OSError:
                continue
        return ""
