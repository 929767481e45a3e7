"""What every cgroup driver is and shares: the ``Cgroup`` interface, its error, and geedocker's own parent.

A plain base class rather than a ``typing.Protocol``: importing ``typing`` costs milliseconds of every
container start, and a base class lets the drivers (``v1.V1``, ``v2.V2``) and test doubles name what they
implement.
"""

from __future__ import annotations

from pathlib import Path

from geedocker.errors import ContainerError

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from geedocker.runtime.spec_resources import Resources

CGROUP_ROOT = Path("/sys/fs/cgroup")
# The parent cgroup geedocker owns: the engine's containers live in /geedocker/<id>, and the runtime's
# default path is geedocker/<root hash>-<id> (see ``paths.container_path`` and ``paths.default_path``).
OWN_PARENT = "geedocker"
MAX_FILE_BYTES = 1 << 20


class CgroupError(ContainerError):
    """Creating, configuring or removing a container's cgroup failed."""


class Cgroup:
    """A container's cgroup (one directory in v2, one per controller hierarchy in v1)."""

    version: int

    def create(self) -> None:
        raise NotImplementedError

    def apply(self, resources: Resources) -> None:
        raise NotImplementedError

    def add(self, pid: int) -> None:
        raise NotImplementedError

    def pids(self) -> list[int]:
        raise NotImplementedError

    def freeze(self) -> None:
        raise NotImplementedError

    def thaw(self) -> None:
        raise NotImplementedError

    def frozen(self) -> bool:
        raise NotImplementedError

    def destroy(self) -> None:
        raise NotImplementedError

    def to_json(self) -> dict[str, object]:
        raise NotImplementedError

    def mount_sources(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer killed a process in this cgroup (read before it is destroyed)."""
        raise NotImplementedError


def oom_kill_count(text: str) -> int:
    """The ``oom_kill`` line of memory.oom_control (v1) or memory.events (v2); 0 without one."""
    for line in text.splitlines():
        key, _, count = line.partition(" ")
        if key == "oom_kill" and count.strip().isdigit():
            return int(count)
    return 0
