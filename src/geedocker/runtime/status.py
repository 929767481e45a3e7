"""The container status (the runtime spec's ``status`` strings) and the transitions it allows."""

from __future__ import annotations

import os
from enum import StrEnum

from geedocker.errors import ContainerStateError


class Status(StrEnum):
    CREATING = "creating"
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    PAUSED = "paused"

    def can_start(self) -> bool:
        return self is Status.CREATED

    def can_kill(self) -> bool:
        return self in (Status.CREATED, Status.RUNNING, Status.PAUSED)

    def can_delete(self) -> bool:
        return self in (Status.STOPPED, Status.CREATED)

    def can_exec(self) -> bool:
        return self in (Status.CREATED, Status.RUNNING)

    def can_pause(self) -> bool:
        return self is Status.RUNNING

    def can_resume(self) -> bool:
        return self is Status.PAUSED

    def require(self, operation: str, cid: str) -> None:
        """Raise ``ContainerStateError`` unless ``operation`` is allowed in this status."""
        allowed = {
            "start": self.can_start,
            "kill": self.can_kill,
            "delete": self.can_delete,
            "exec": self.can_exec,
            "pause": self.can_pause,
            "resume": self.can_resume,
        }[operation]()
        if not allowed:
            raise ContainerStateError(f"cannot {operation} container {cid}: it is {self.value}")


def exit_status(wait_status: int) -> int:
    """A ``waitpid`` status as docker reports it: the exit code, or 128+N for a process killed by signal N."""
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code
