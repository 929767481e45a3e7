"""Containers on disk: ``containers/<id>/`` holding ``container.json``, the bundle, the overlay dirs, logs.

    containers/<id>/
      container.json     the record (ContainerRecord), replaced atomically on every change
      config.json        the OCI bundle's config; rootfs/ is the bundle's root (the overlay mountpoint)
      rootfs/  upper/  work/  l/ (short links to the lower dirs when the overlay options get long)
      hostname  hosts    bind-mounted into the container
      <id>-json.log      docker's json-file log

Names are unique: creating a record holds ``locks/containers.lock`` while it checks and writes.
Changes to one record hold ``containers/<id>/lock``. Lookup accepts a full id, a name, or a unique
id prefix (in that order, as docker).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path

from geedocker.containers.index import ContainerIndex
from geedocker.containers.names import random_name
from geedocker.containers.options import RunOptions
from geedocker.errors import ContainerError, ContainerNotFound, GeeDockerError, NameConflictError, StoreError
from geedocker.oci import ContainerConfig
from geedocker.procs import pid_alive
from geedocker.store.fsutil import atomic_write, file_lock, lock_dir, remove_tree
from geedocker.store.layout import Layout
from geedocker.values import field, replace, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from geedocker.store.images import ImageUsers

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

MAX_RECORD_BYTES = 4 * 1024 * 1024
NAME_FILE_MAX = 200  # longer names are kept in the index under their hash
NAMES_DIR = ".names"  # below the containers dir: one file per container name, holding the container's id


class Status(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    REMOVING = "removing"
    DEAD = "dead"


def is_alive(pid: int, start_time: int) -> bool:
    """True if ``pid`` runs and is the process that started at ``start_time`` (not a reused pid)."""
    return start_time > 0 and pid_alive(pid, start_time)


@value
class ContainerState:
    status: Status = Status.CREATED
    pid: int = 0
    pid_start: int = 0
    monitor_pid: int = 0
    monitor_start: int = 0
    exit_code: int = 0
    started_at: str = ""
    finished_at: str = ""
    error: str = ""
    oom_killed: bool = False
    restart_count: int = 0
    restarting: bool = False  # the monitor waits out a restart policy's back-off
    manually_stopped: bool = False  # stop/kill: the restart policy leaves it (``unless-stopped`` too after boot)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "pid": self.pid,
            "pid_start": self.pid_start,
            "monitor_pid": self.monitor_pid,
            "monitor_start": self.monitor_start,
            "exit_code": self.exit_code,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "oom_killed": self.oom_killed,
            "restart_count": self.restart_count,
            "restarting": self.restarting,
            "manually_stopped": self.manually_stopped,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ContainerState:
        return cls(
            status=Status(d.get("status", "created")),
            pid=int(d.get("pid", 0)),
            pid_start=int(d.get("pid_start", 0)),
            monitor_pid=int(d.get("monitor_pid", 0)),
            monitor_start=int(d.get("monitor_start", 0)),
            exit_code=int(d.get("exit_code", 0)),
            started_at=str(d.get("started_at", "")),
            finished_at=str(d.get("finished_at", "")),
            error=str(d.get("error", "")),
            oom_killed=bool(d.get("oom_killed", False)),
            restart_count=int(d.get("restart_count", 0)),
            restarting=bool(d.get("restarting", False)),
            manually_stopped=bool(d.get("manually_stopped", False)),
        )


@value
class ContainerRecord:
    id: str
    name: str
    image: str  # the reference the user gave
    image_id: str  # the image's config digest (sha256:...) or "" for a bare rootfs
    created: str
    args: tuple[str, ...]  # the full argv (entrypoint + cmd)
    options: RunOptions
    image_config: ContainerConfig
    lower_dirs: tuple[str, ...]  # top..bottom
    hostname: str = ""
    stop_signal: int = 15
    stop_timeout: int = 10
    runtime: str = ""  # the OCI runtime that runs it (see geedocker.containers.backend)
    state: ContainerState = field(default_factory=ContainerState)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def labels(self) -> dict[str, str]:
        """The container's labels as docker has them: the image's, overridden by --label; sorted by key."""
        merged = dict(self.image_config.labels)
        merged.update(self.options.labels)
        return dict(sorted(merged.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "image": self.image,
            "image_id": self.image_id,
            "created": self.created,
            "args": list(self.args),
            "options": self.options.to_json(),
            "image_config": self.image_config.to_json(),
            "lower_dirs": list(self.lower_dirs),
            "hostname": self.hostname,
            "stop_signal": self.stop_signal,
            "stop_timeout": self.stop_timeout,
            "runtime": self.runtime,
            "state": self.state.to_json(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ContainerRecord:
        return cls(
            id=str(d["id"]),
            name=str(d["name"]),
            image=str(d.get("image", "")),
            image_id=str(d.get("image_id", "")),
            created=str(d.get("created", "")),
            args=tuple(str(a) for a in d.get("args", ())),
            options=RunOptions.from_json(d.get("options") or {}),
            image_config=ContainerConfig.from_json(d.get("image_config")),
            lower_dirs=tuple(str(x) for x in d.get("lower_dirs", ())),
            hostname=str(d.get("hostname", "")),
            stop_signal=int(d.get("stop_signal", 15)),
            stop_timeout=int(d.get("stop_timeout", 10)),
            runtime=str(d.get("runtime", "")),
            state=ContainerState.from_json(d.get("state") or {}),
        )


def event(layout: Layout, rec: ContainerRecord, action: str, **extra: str) -> None:
    """A container event in the journal (``geedocker.store.events``), with docker's attributes: the image, the
    name, the container's labels and ``extra`` (exitCode, signal...)."""
    from geedocker.store import events

    attrs = {**dict(rec.options.labels), "image": rec.image or rec.image_id, "name": rec.name, **extra}
    events.emit(layout, "container", action, rec.id, attrs)


def new_container_id() -> str:
    return os.urandom(32).hex()  # as secrets.token_hex(32), without importing secrets (hmac, OpenSSL)


class ContainerStore:
    """The ``containers/`` directory of a store."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.index = ContainerIndex(layout)

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
        try:
            names = os.listdir(self.layout.containers)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if len(n) == 64 and (self.layout.containers / n / "container.json").exists())

    def load(self, cid: str) -> ContainerRecord:
        path = self.record_path(cid)
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_RECORD_BYTES + 1)
        except FileNotFoundError as e:
            raise ContainerNotFound(f"No such container: {cid}") from e
        except OSError as e:
            raise StoreError(f"reading {path}: {e.strerror}") from e
        if len(data) > MAX_RECORD_BYTES:
            raise StoreError(f"{path} is larger than {MAX_RECORD_BYTES} bytes")
        try:
            return ContainerRecord.from_json(json.loads(data))
        except (ValueError, KeyError, TypeError) as e:
            raise StoreError(f"{path}: corrupt container record: {e}") from e

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
                    out.append(ContainerRecord.from_json(json.loads(lines[cid])))
                return out
            except (ValueError, KeyError, TypeError):
                if attempt == 2:
                    raise StoreError(f"{self.index.file}: a line that no record wrote") from None
                self.index.discard()  # damaged after its checks passed: made again from the records
        return out

    def _record_lines(self) -> dict[str, bytes]:
        """Each container's record as the index keeps it (its JSON on one line), read from the records; a record
        that cannot be read is left out, as ``list`` always did."""
        out = {}
        for cid in self.ids():
            with contextlib.suppress(ContainerNotFound, StoreError):
                out[cid] = _line(self.load(cid))
        return out

    def _write(self, rec: ContainerRecord) -> None:
        # Not durable: a record changes on every start and exit and matters no longer than the machine's uptime
        # (after a crash ``refresh`` corrects running containers), and an fsync is a large part of ``run``'s
        # latency. Readers still see the old or the new record, never a part of one.
        with self.index.writing(rec.id) as put:
            atomic_write(self.record_path(rec.id), json.dumps(rec.to_json(), indent=1).encode(), 0o600,
                         durable=False)
            put(_line(rec))

    def create(self, make: Callable[[str, str], ContainerRecord], name: str = "", cid: str = "") -> ContainerRecord:
        """Reserve id ``cid`` (a new one if "") and a unique name, then write ``make(id, name)``'s record.

        Raises ``NameConflictError`` if ``name`` is taken. Names are reserved in an index (``.names/<name>``
        holding the id), so a new container costs the same however many there are.
        """
        self.layout.containers.mkdir(parents=True, exist_ok=True)
        with file_lock(self.layout.lock("containers")):
            self._ensure_name_index()
            if cid and self.dir(cid).exists():  # 256 random bits: only a caller's bug makes this
                raise ContainerError(f"container id {cid} is already in use")
            while not cid or self.dir(cid).exists():
                cid = new_container_id()
            if name:
                if not self._claim_name(name, cid):
                    raise NameConflictError(
                        f'Conflict. The container name "/{name}" is already in use by container '
                        f'"{self._name_owner(name)}". You have to remove (or rename) that container to be able to '
                        "reuse that name."
                    )
            else:
                for i in range(100):
                    name = random_name(i // 10)
                    if self._claim_name(name, cid):
                        break
                else:
                    raise ContainerError("could not find a free container name")
            try:
                self.dir(cid).mkdir(mode=0o700)
                rec = make(cid, name)
                self._write(rec)
            except BaseException:
                remove_tree(self.dir(cid))
                self._release_name(name, cid)
                raise
            return rec

    # the name index: .names/<name> -> the id of the container that has it
    def _name_file(self, name: str) -> Path:
        if len(name.encode()) > NAME_FILE_MAX:
            # docker takes names of any length; a file name has at most 255 bytes. A long name is kept under its
            # hash ('=' never starts a container name, so the two kinds never meet).
            import hashlib  # long names only: OpenSSL's import costs ms of every start

            name = "=" + hashlib.sha256(name.encode()).hexdigest()
        return self.layout.containers / NAMES_DIR / name

    def _name_owner(self, name: str) -> str:
        try:
            return self._name_file(name).read_text().strip()
        except OSError:
            return ""

    def _claim_name(self, name: str, cid: str) -> bool:
        """Take ``name`` for ``cid`` (under the containers lock): False if a container that exists has it.
        An entry whose container is gone (a crash between the two) is taken over."""
        path = self._name_file(name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            owner = self._name_owner(name)
            if len(owner) == 64 and self.record_path(owner).exists():
                return False
            atomic_write(path, cid.encode(), 0o600, durable=False)
            return True
        with os.fdopen(fd, "w") as f:
            f.write(cid)
        return True

    def _release_name(self, name: str, cid: str) -> None:
        """Free ``name`` if ``cid`` holds it (under the containers lock)."""
        if name and self._name_owner(name) == cid:
            with contextlib.suppress(FileNotFoundError):
                self._name_file(name).unlink()

    def _ensure_name_index(self) -> None:
        """Make the index from the records once (a store made before it existed), under the containers lock."""
        names = self.layout.containers / NAMES_DIR
        if names.is_dir():
            return
        tmp = self.layout.containers / f"{NAMES_DIR}.{os.getpid()}.tmp"
        remove_tree(tmp)
        tmp.mkdir(mode=0o700)
        for rec in self.list():
            if rec.name and "/" not in rec.name and not rec.name.startswith("."):
                (tmp / self._name_file(rec.name).name).write_text(rec.id)
        os.rename(tmp, names)

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
        if len(ref) == 64 and self.record_path(ref).exists():
            return self.load(ref)
        if "/" not in ref and not ref.startswith("."):
            owner = self._name_owner(ref)
            if len(owner) == 64:
                with contextlib.suppress(ContainerNotFound, StoreError):
                    rec = self.load(owner)
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
        """Remove the container's directory, then free its name (read from its record unless given)."""
        if name is None:
            try:
                name = self.load(cid).name
            except GeeDockerError:
                name = ""
        with self.index.writing(cid) as put:  # out of the list first, then the tree (which may take long)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.record_path(cid))
            put(None)
        remove_tree(self.dir(cid))
        self.index.settle()
        if self.dir(cid).exists():
            raise StoreError(f"could not remove {self.dir(cid)}")
        if name:
            with file_lock(self.layout.lock("containers")):
                self._release_name(name, cid)


def _line(rec: ContainerRecord) -> bytes:
    """A record on one line (compact JSON escapes every newline), as the index keeps it."""
    return json.dumps(rec.to_json(), separators=(",", ":")).encode()
