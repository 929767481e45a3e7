"""Containers on disk: ``containers/<id>/`` holding ``container.json``, the bundle, the overlay dirs, logs.

    containers/<id>/
      container.json     the record (``containers.record.ContainerRecord``), replaced atomically on every change
      config.json        the OCI bundle's config; rootfs/ is the bundle's root (the overlay mountpoint)
      rootfs/  upper/  work/  l/ (short links to the lower dirs when the overlay options get long)
      hostname  hosts    bind-mounted into the container
      <id>-json.log      docker's json-file log

Names are unique: creating a record holds ``locks/containers.lock`` while it checks and writes (the name
index, ``containers.nameindex``). Changes to one record hold an flock on ``containers/<id>/``. Lookup accepts a
full id, a name, or a unique id prefix (in that order, as docker).

Durability: every record and name-index entry is written through ``fsutil.atomic_write`` (a temp file,
fsync, rename, fsync of the directory), so a crash or a power cut leaves the old or the new one, whole. A
container appears whole: its directory is made as ``.creating-<id>`` with its record in it, then renamed;
it goes the same way (renamed to ``.removing-<id>``, then deleted). A record that cannot be read all the
same (a damaged disk, a hand edit, a store from before this) does not hide its container: ``load_any``
gives a *damaged* stand-in (``containers.damaged``: status ``dead``, the name from the index, what can be read
of the rest) that ``ps -a`` shows and ``rm -f`` removes with everything the container held.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from geedocker.containers.damaged import damaged_record
from geedocker.containers.index import ContainerIndex
from geedocker.containers.nameindex import NameIndex
from geedocker.containers.names import random_name
from geedocker.containers.record import MAX_RECORD_BYTES, ContainerRecord, Status, is_alive, is_container_id
from geedocker.errors import ContainerError, ContainerNotFound, GeeDockerError, NameConflictError, StoreError
from geedocker.store.fsutil import atomic_write, file_lock, fsync_dir, lock_dir, remove_tree
from geedocker.store.layout import Layout
from geedocker.values import replace

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

    from geedocker.store.images import ImageUsers

CREATING = ".creating-"  # a container dir being made (renamed to <id> once its record is in it)
REMOVING = ".removing-"  # a container dir being deleted (renamed first, so it never shows without a record)


def event(layout: Layout, rec: ContainerRecord, action: str, **extra: str) -> None:
    """A container event in the journal (``geedocker.store.events``), with docker's attributes: the image, the
    name, the container's labels (its image's, then its own) and ``extra`` (exitCode, signal...)."""
    from geedocker.store import events

    attrs = {**rec.labels, "image": rec.image or rec.image_id, "name": rec.name, **extra}
    events.emit(layout, "container", action, rec.id, attrs)


def new_container_id() -> str:
    return os.urandom(32).hex()  # as secrets.token_hex(32), without importing secrets (hmac, OpenSSL)


class ContainerStore:
    """The ``containers/`` directory of a store."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.index = ContainerIndex(layout)
        self.names = NameIndex(layout)

    # paths
    def dir(self, cid: str) -> Path:
        return self.layout.container_dir(cid)

    def record_path(self, cid: str) -> Path:
        return self.dir(cid) / "container.json"

    def bundle(self, cid: str) -> Path:
        return self.dir(cid)

    def rootfs(self, cid: str) -> Path:
        return self.dir(cid) / "rootfs"

    def log_path(self, cid: str) -> Path:
        return self.dir(cid) / f"{cid}-json.log"

    # records
    def ids(self) -> list[str]:
        """Every container's id: each ``<id>`` directory, with a readable record or not."""
        try:
            names = os.listdir(self.layout.containers)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if is_container_id(n))

    def load(self, cid: str) -> ContainerRecord:
        """The record; ContainerNotFound when there is none, StoreError when it cannot be read."""
        path = self.record_path(cid)
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_RECORD_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError) as e:
            raise ContainerNotFound(f"No such container: {cid}") from e
        except OSError as e:
            raise StoreError(f"reading {path}: {e.strerror}") from e
        if len(data) > MAX_RECORD_BYTES:
            raise StoreError(f"{path} is larger than {MAX_RECORD_BYTES} bytes")
        try:
            doc = json.loads(data)
            if not isinstance(doc, dict):
                raise TypeError(f"a JSON {type(doc).__name__} where an object belongs")
            return ContainerRecord.from_json(doc)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise StoreError(f"{path}: corrupt container record: {e}") from e

    def load_any(self, cid: str) -> ContainerRecord:
        """The record, or when its directory is there but the record cannot be read (missing, truncated,
        garbage), a damaged stand-in: status dead, the error saying why, the name the index gives the id, and
        the fields that can still be read from what is left of the file. ContainerNotFound without the dir."""
        try:
            return self.load(cid)
        except StoreError as e:
            why = str(e)
        except ContainerNotFound:
            if not is_container_id(cid) or not self.dir(cid).is_dir():
                raise
            why = f"{self.record_path(cid)}: no container record (its creation or removal was interrupted)"
        return damaged_record(self, cid, why)

    def image_ids(self) -> frozenset[str]:
        """Image IDs (config digests) that containers use, so ``rmi`` refuses them unless forced."""
        return frozenset(rec.image_id for rec in self.list() if rec.image_id)

    def image_users(self) -> ImageUsers:
        """What ``rmi`` must not take from under a container: its image (refused while it runs) and its
        layer directories."""
        from geedocker.store.images import ImageUsers

        running: list[tuple[str, str]] = []
        every: list[tuple[str, str]] = []
        dirs: set[str] = set()
        for rec in self.list():
            dirs.update(rec.lower_dirs)
            if rec.image_id:
                every.append((rec.image_id, rec.id))
                if rec.state.status == Status.RUNNING and is_alive(rec.state.pid, rec.state.pid_start):
                    running.append((rec.image_id, rec.id))
        return ImageUsers(tuple(running), tuple(every), tuple(sorted(dirs)))

    def list(self) -> list[ContainerRecord]:
        """Every container's record, read from the index (``geedocker.containers.index``): one file."""
        out: list[ContainerRecord] = []
        for attempt in (1, 2):
            out = []
            lines = self.index.entries(self._record_lines)
            try:
                for cid in sorted(lines):
                    doc = json.loads(lines[cid])
                    rec = ContainerRecord.from_json(doc)
                    out.append(replace(rec, damaged=str(doc["damaged"])) if "damaged" in doc else rec)
                return out
            except (ValueError, KeyError, TypeError, AttributeError):
                if attempt == 2:
                    raise StoreError(f"{self.index.file}: a line that no record wrote") from None
                self.index.discard()  # damaged after its checks passed: made again from the records
        return out

    def _record_lines(self) -> dict[str, bytes]:
        """Each container's record as the index keeps it (its JSON on one line), read from the records; a record
        that cannot be read as its damaged stand-in (``load_any``), marked so."""
        out = {}
        for cid in self.ids():
            with contextlib.suppress(ContainerNotFound):
                out[cid] = _line(self.load_any(cid))
        return out

    def _write(self, rec: ContainerRecord, making: Path | None = None) -> None:
        """Write the record durably (fsynced, as issue 13 asks: a record that a power cut truncates would hide a
        container that still holds mounts, cgroups and a name). ``making``: the ``.creating-`` dir of a new
        container, renamed to its id once the record is in it."""
        if rec.damaged:
            raise StoreError(f"container {rec.id[:12]}: its record is damaged and cannot be rewritten")
        with self.index.writing(rec.id) as put:
            path = (making or self.dir(rec.id)) / "container.json"
            atomic_write(path, json.dumps(rec.to_json(), indent=1).encode(), 0o600)
            if making is not None:
                os.rename(making, self.dir(rec.id))
                fsync_dir(self.layout.containers)
            put(_line(rec))

    def create(self, make: Callable[[str, str], ContainerRecord], name: str = "", cid: str = "") -> ContainerRecord:
        """Reserve id ``cid`` (a new one if "") and a unique name, then write ``make(id, name)``'s record.

        Raises ``NameConflictError`` if ``name`` is taken. Names are reserved in an index (``.names/<name>``
        holding the id), so a new container costs the same however many there are.
        """
        self.layout.containers.mkdir(parents=True, exist_ok=True)
        with file_lock(self.layout.lock("containers")):
            self.names.ensure(self.list)
            if cid and self.dir(cid).exists():  # 256 random bits: only a caller's bug makes this
                raise ContainerError(f"container id {cid} is already in use")
            while not cid or self.dir(cid).exists():
                cid = new_container_id()
            if name:
                if not self.names.claim(name, cid):
                    raise NameConflictError(
                        f'Conflict. The container name "/{name}" is already in use by container '
                        f'"{self.names.owner(name)}". You have to remove (or rename) that container to be able to '
                        "reuse that name."
                    )
            else:
                for i in range(100):
                    name = random_name(i // 10)
                    if self.names.claim(name, cid):
                        break
                else:
                    raise ContainerError("could not find a free container name")
            # The dir appears with its record in it (a rename): never a container dir without a record.
            making = self.layout.containers / f"{CREATING}{cid}"
            try:
                making.mkdir(mode=0o700)
                rec = make(cid, name)
                self._write(rec, making)
            except BaseException:
                remove_tree(making)
                remove_tree(self.dir(cid))
                self.names.release(name, cid)
                raise
            return rec

    @contextlib.contextmanager
    def locked(self, cid: str) -> Iterator[None]:
        """The container's lock: an flock on its directory."""
        try:
            fd = lock_dir(self.dir(cid))
        except (FileNotFoundError, NotADirectoryError) as e:
            raise ContainerNotFound(f"No such container: {cid}") from e
        try:
            yield
        finally:
            os.close(fd)

    def update(self, cid: str, change: Callable[[ContainerRecord], ContainerRecord]) -> ContainerRecord:
        """Read, change and atomically rewrite one record under its lock."""
        with self.locked(cid):
            rec = change(self.load(cid))
            self._write(rec)
            return rec

    def update_state(self, cid: str, **changes: Any) -> ContainerRecord:
        return self.update(cid, lambda r: replace(r, state=replace(r.state, **changes)))

    def resolve(self, ref: str) -> ContainerRecord:
        """A container by full id, name or unique id prefix."""
        ref = ref.lstrip("/") if not ref.startswith("/") or len(ref) > 1 else ref
        if not ref:
            raise ContainerNotFound("No such container: (empty name)")
        if is_container_id(ref) and self.dir(ref).is_dir():
            return self.load_any(ref)
        if "/" not in ref and not ref.startswith("."):
            owner = self.names.owner(ref)
            if is_container_id(owner):
                with contextlib.suppress(ContainerNotFound):
                    rec = self.load_any(owner)
                    if rec.name == ref:
                        return rec
        records = self.list()
        for r in records:
            if r.name == ref:
                return r
        if all(c in "0123456789abcdef" for c in ref):
            matches = [r for r in records if r.id.startswith(ref)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise ContainerError(f"multiple IDs found with provided prefix: {ref}")
        raise ContainerNotFound(f"No such container: {ref}")

    def paused_marker(self, cid: str) -> Path:
        """Left by ``pause`` (``geedocker.containers.control``): the pid and start time of the frozen process."""
        return self.layout.run / "paused" / cid

    def is_paused(self, rec: ContainerRecord) -> bool:
        """Paused: running, and the marker names the process that runs (not one killed while frozen)."""
        if rec.state.status != Status.RUNNING:
            return False
        try:
            with open(self.paused_marker(rec.id)) as f:
                return f.read() == f"{rec.state.pid}:{rec.state.pid_start}"
        except OSError:
            return False

    def exit_file(self, cid: str) -> Path:
        """Where an auto-removed (``--rm``) container leaves its exit code for ``wait`` (under $RUN)."""
        return self.layout.run / "exited" / cid

    def remove_dir(self, cid: str, name: str | None = None) -> None:
        """Remove the container's directory, then free its name (read from its record unless given). Under its
        lock, the dir is renamed aside and out of the list first (no update lands in it afterwards, and it never
        shows as a container without a record), then its tree goes (which may take long). Gone already is not
        an error (its monitor and ``rm -f`` may race)."""
        if name is None:
            try:
                name = self.load_any(cid).name
            except GeeDockerError:
                name = ""
        aside = self.layout.containers / f"{REMOVING}{cid}"
        try:
            fd = lock_dir(self.dir(cid))
        except (FileNotFoundError, NotADirectoryError):
            fd = -1  # removed already (by its monitor, or an ``rm -f`` meanwhile): only the name may be left
        if fd >= 0:
            try:  # under the dir's lock throughout: ``leftover_dirs`` leaves a locked ``.removing-`` dir alone
                remove_tree(aside)  # an earlier removal of this id that was interrupted
                with self.index.writing(cid) as put:
                    os.rename(self.dir(cid), aside)
                    put(None)
                remove_tree(aside)
                if aside.exists():  # back where ``ps -a`` shows it and ``rm -f`` can try again
                    os.rename(aside, self.dir(cid))
                    self.index.discard()
                    raise StoreError(f"could not remove everything in {self.dir(cid)}")
            except OSError as e:
                raise StoreError(f"could not remove {self.dir(cid)}: {e.strerror}") from e
            finally:
                os.close(fd)
            self.index.settle()
        if name:
            with file_lock(self.layout.lock("containers")):
                self.names.release(name, cid)

    def leftover_dirs(self) -> builtins.list[Path]:
        """Dirs of an interrupted create or removal (``.creating-<id>``, ``.removing-<id>``) that nobody is
        working on: a create holds the containers lock, a removal its dir's lock."""
        try:
            names = sorted(os.listdir(self.layout.containers))
        except FileNotFoundError:
            return []
        out = []
        with file_lock(self.layout.lock("containers")):
            for n in names:
                if not (n.startswith(CREATING) or n.startswith(REMOVING)):
                    continue
                path = self.layout.containers / n
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    out.append(path)
                except BlockingIOError:
                    pass
                finally:
                    os.close(fd)
        return out


def _line(rec: ContainerRecord) -> bytes:
    """A record on one line (compact JSON escapes every newline), as the index keeps it."""
    doc = rec.to_json()
    if rec.damaged:
        doc["damaged"] = rec.damaged
    return json.dumps(doc, separators=(",", ":")).encode()
