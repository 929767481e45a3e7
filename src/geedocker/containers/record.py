"""A container's record as it is kept (``containers/<id>/container.json``): what it was made from and its
state. Values only; ``containers.store`` reads and writes them."""

from __future__ import annotations

from enum import StrEnum

from geedocker.containers.options import RunOptions
from geedocker.oci import ContainerConfig
from geedocker.procs import pid_alive
from geedocker.values import field, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any


MAX_RECORD_BYTES = 4 * 1024 * 1024  # a record is a few KiB: a larger container.json is not read


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
    damaged: str = ""  # why the record could not be read: this is ``load_any``'s stand-in (never written)

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

def is_container_id(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
