"""A container's state on disk (``root/<id>/``) and its live status.

``state.json`` (written atomically) holds what the runtime saved at create time; the status is always
computed from the init pid: alive (and with the saved start time, so a recycled pid does not count)
and not a zombie -> CREATED while ``exec.fifo`` exists, PAUSED when the cgroup is frozen, else RUNNING;
otherwise STOPPED, with the exit status the monitor wrote to ``exit.json`` if there was one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path

from geedocker.errors import ContainerError, ContainerNotFound, UsageError
from geedocker.procs import pid_alive, proc_stat
from geedocker.runtime.status import Status
from geedocker.store.fsutil import atomic_write, remove_tree
from geedocker.timefmt import now_rfc3339
from geedocker.values import field, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

OCI_VERSION = "1.2.0"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$")
MAX_STATE_BYTES = 4 * 1024 * 1024


def check_id(cid: str) -> None:
    if not ID_RE.match(cid):
        raise UsageError(f"invalid container id {cid!r}: use letters, digits, '_', '.', '+', '-' (max 128)")


@value
class State:
    """The runtime spec's state of a container, plus when it was created and how it ended."""

    oci_version: str
    id: str
    status: Status
    pid: int
    bundle: str
    annotations: dict[str, str] = field(default_factory=dict)
    created: str = ""
    exit_code: int | None = None
    rootfs: str = ""
    finished: str = ""  # when the monitor saw the init exit (RFC 3339), if it did

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ociVersion": self.oci_version,
            "id": self.id,
            "status": self.status.value,
            "bundle": self.bundle,
        }
        if self.status in (Status.CREATED, Status.RUNNING, Status.PAUSED, Status.CREATING) and self.pid:
            out["pid"] = self.pid
        elif self.pid:
            out["pid"] = 0
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_runc_json(self) -> dict[str, Any]:
        """``runc state`` output: the spec's state plus runc's ``rootfs``, ``created`` and ``owner`` (empty in
        ``state``; ``list`` names the state dir's owner)."""
        out = self.to_json()
        out["pid"] = self.pid if self.status is not Status.STOPPED else 0
        out["rootfs"] = self.rootfs
        out["created"] = self.created
        out["owner"] = ""
        out.setdefault("annotations", {})
        return out


@value
class Saved:
    """What ``state.json`` holds."""

    id: str
    bundle: str
    rootfs: str
    pid: int
    pid_start: int
    monitor_pid: int
    created: str
    annotations: dict[str, str]
    cgroup: dict[str, Any] | None
    hooks: dict[str, Any]
    namespaces: dict[str, str]  # type -> path the container's init holds (for exec)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "pid": self.pid,
            "pidStart": self.pid_start,
            "monitorPid": self.monitor_pid,
            "created": self.created,
            "annotations": self.annotations,
            "cgroup": self.cgroup,
            "hooks": self.hooks,
            "namespaces": self.namespaces,
        }

    @classmethod
    def from_json(cls, o: dict[str, Any]) -> Saved:
        try:
            return cls(
                id=str(o["id"]),
                bundle=str(o["bundle"]),
                rootfs=str(o.get("rootfs", "")),
                pid=int(o["pid"]),
                pid_start=int(o.get("pidStart", 0)),
                monitor_pid=int(o.get("monitorPid", 0)),
                created=str(o.get("created", "")),
                annotations={str(k): str(v) for k, v in dict(o.get("annotations") or {}).items()},
                cgroup=o.get("cgroup"),
                hooks=dict(o.get("hooks") or {}),
                namespaces={str(k): str(v) for k, v in dict(o.get("namespaces") or {}).items()},
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ContainerError(f"state of container {o.get('id')!r} is malformed: {e}") from e


def proc_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or None if there is no such process."""
    st = proc_stat(pid)
    return None if st is None else st[1]


@value
class ContainerDir:
    root: Path
    id: str

    @property
    def path(self) -> Path:
        return self.root / self.id

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    @property
    def fifo(self) -> Path:
        return self.path / "exec.fifo"

    @property
    def exit_file(self) -> Path:
        return self.path / "exit.json"

    def exists(self) -> bool:
        return self.path.is_dir()

    def make(self) -> None:
        check_id(self.id)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self.path.mkdir(mode=0o700)
        except FileExistsError as e:
            from geedocker.errors import NameConflictError

            raise NameConflictError(f"container {self.id} already exists in {self.root}") from e

    def save(self, saved: Saved) -> None:
        # No fsync (as runc): the state describes processes that do not outlive the machine and lives under a
        # run directory (/run) that does not either; on a disk-backed /run an fsync costs ms of every start.
        atomic_write(self.state_file, json.dumps(saved.to_json()).encode(), 0o600, durable=False)

    def load(self) -> Saved:
        try:
            with open(self.state_file, "rb") as f:
                raw = f.read(MAX_STATE_BYTES)
        except FileNotFoundError as e:
            if self.exists():
                raise ContainerError(f"container {self.id} has no saved state (still being created, "
                                     "or its creation failed)") from e
            raise ContainerNotFound(f"container {self.id} does not exist") from e
        try:
            return Saved.from_json(json.loads(raw))
        except ValueError as e:
            raise ContainerError(f"state of container {self.id} is not valid JSON: {e}") from e

    def exit_code(self) -> int | None:
        return self.exit_record()[0]

    def exit_record(self) -> tuple[int | None, str]:
        """The exit status the monitor recorded and when (RFC 3339), or (None, "")."""
        try:
            with open(self.exit_file, "rb") as f:
                doc = json.loads(f.read(4096))
            return int(doc["exitCode"]), str(doc.get("at") or "")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None, ""

    def remove(self) -> None:
        for _ in range(50):
            remove_tree(self.path)
            if not self.path.exists():
                return
            time.sleep(0.01)  # something (a late monitor) wrote into it meanwhile
        raise ContainerError(f"could not remove the state of container {self.id} ({self.path})")


def status_of(cdir: ContainerDir, saved: Saved, frozen: bool = False) -> Status:
    if pid_alive(saved.pid, saved.pid_start):
        if cdir.fifo.exists():
            return Status.CREATED
        return Status.PAUSED if frozen else Status.RUNNING
    return Status.STOPPED


def to_state(cdir: ContainerDir, saved: Saved, status: Status) -> State:
    code, finished = cdir.exit_record() if status is Status.STOPPED else (None, "")
    return State(
        oci_version=OCI_VERSION,
        id=saved.id,
        status=status,
        pid=saved.pid,
        bundle=saved.bundle,
        annotations=dict(saved.annotations),
        created=saved.created,
        exit_code=code,
        rootfs=saved.rootfs,
        finished=finished,
    )


def write_exit(dir_fd: int, code: int) -> None:
    """Record the exit status in ``exit.json`` below an open state dir (the monitor's side)."""
    data = json.dumps({"exitCode": code, "at": now_rfc3339()}).encode()
    tmp = f".exit.{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    except OSError:
        return  # the container was deleted meanwhile
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rename(tmp, "exit.json", src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
