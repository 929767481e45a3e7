"""A Backend for unprivileged tests of the engine: it runs nothing, logs every call, and fails on demand.

    fake = FakeBackend(fail={"prepare": ContainerError("no cgroups")})
    with fake.installed(monkeypatch):      # GEEDOCKER_OCI_RUNTIME=fake, get_backend answers with it
        ...
    assert fake.ops() == ["prepare", "discard"]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geedocker.containers.backend import Backend, Fd, RuntimeState, register_backend
from geedocker.errors import GeeDockerError


class FakeBackend(Backend):
    name = "fake"

    def __init__(self, fail: dict[str, GeeDockerError] | None = None, exit_code: int | None = None,
                 oom: bool = False, finished_at: str = "") -> None:
        self.fail = dict(fail or {})
        self.calls: list[tuple[Any, ...]] = []
        self.status: dict[str, str] = {}  # cid -> the runtime's status
        self.exit_code = exit_code  # what state() reports for a stopped container
        self.finished_at = finished_at  # and when it stopped
        self.oom = oom

    def ops(self) -> list[str]:
        return [c[0] for c in self.calls]

    def _call(self, op: str, *args: Any) -> None:
        self.calls.append((op, *args))
        if op in self.fail:
            raise self.fail[op]

    @contextlib.contextmanager
    def installed(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBackend]:
        monkeypatch.setenv("GEEDOCKER_OCI_RUNTIME", self.name)
        register_backend(self.name, lambda layout: self)
        try:
            yield self
        finally:
            register_backend(self.name, None)

    def create(self, cid: str, bundle: Path, *, stdin: Fd, stdout: Fd, stderr: Fd,
               console_socket: Path | None) -> int:
        self._call("create", cid, bundle)
        self.status[cid] = "created"
        return 0

    def start(self, cid: str) -> None:
        self._call("start", cid)
        self.status[cid] = "running"

    def prepare(self, cid: str, cgroups_path: str) -> None:
        self._call("prepare", cid, cgroups_path)

    def discard(self, cid: str, cgroups_path: str) -> None:
        self._call("discard", cid, cgroups_path)

    def wait(self, cid: str, pid: int) -> int:
        self._call("wait", cid, pid)
        return self.exit_code or 0

    def kill(self, cid: str, sig: int, all_: bool = False) -> None:
        self._call("kill", cid, sig)

    def delete(self, cid: str, force: bool = False) -> None:
        self._call("delete", cid, force)
        self.status.pop(cid, None)

    def state(self, cid: str) -> RuntimeState:
        self._call("state", cid)
        return RuntimeState(self.status.get(cid, "stopped"), 0, self.exit_code, self.finished_at)

    def oom_killed(self, cid: str, cgroups_path: str) -> bool:
        self._call("oom_killed", cid, cgroups_path)
        return self.oom

    def exec_(self, cid: str, process: dict[str, Any], *, stdin: Fd, stdout: Fd, stderr: Fd,
              console_socket: Path | None, detach: bool = False) -> int:
        self._call("exec", cid, process)
        return 0
