"""exec: another process in a running container's namespaces and cgroup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geedocker import runtime as rt
from geedocker.errors import CommandNotFound, ContainerError
from geedocker.runtime.state import pid_alive
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = pytest.mark.root


def _exec(runtime: Runtime, cid: str, proc: dict[str, object], **kw: object) -> tuple[int, str]:
    out = runtime.base / "exec.out"
    with open(out, "wb") as f, open(os.devnull, "rb") as null:
        code = rt.exec_(runtime.root, cid, proc, stdin=null.fileno(), stdout=f.fileno(), stderr=f.fileno(),
                        **kw)  # type: ignore[arg-type]
    return code, out.read_text()


@pytest.fixture
def running(runtime: Runtime) -> str:
    cid = runtime.create(base_config(["sleep", "60"]))
    rt.start(runtime.root, cid)
    return cid


def test_exec_joins_namespaces(runtime: Runtime, running: str) -> None:
    proc = {"args": ["sh", "-c", "hostname; cat /proc/1/cmdline; echo; echo $$; readlink /proc/self/ns/mnt"],
            "cwd": "/", "env": ["PATH=/bin"]}
    code, out = _exec(runtime, running, proc)
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "geedocker-test"
    assert lines[1].replace("\0", " ").strip() == "sleep 60"
    assert lines[2] != "1"
    init = rt.state(runtime.root, running).pid
    assert lines[3] == os.readlink(f"/proc/{init}/ns/mnt")


def test_exec_exit_code_env_cwd_user(runtime: Runtime, running: str) -> None:
    proc = {"args": ["sh", "-c", 'echo "$X $(pwd) $(id -u)"; exit 5'], "cwd": "/tmp", "env": ["PATH=/bin", "X=y"],
            "user": {"uid": 1000, "gid": 1000}}
    code, out = _exec(runtime, running, proc)
    assert (code, out) == (5, "y /tmp 1000\n")


def test_exec_from_process_json(runtime: Runtime, running: str, tmp_path: Path) -> None:
    pj = tmp_path / "process.json"
    pj.write_text('{"args": ["sh", "-c", "exit 9"], "cwd": "/"}')
    assert _exec(runtime, running, pj)[0] == 9  # type: ignore[arg-type]


def test_exec_is_in_the_container_cgroup(runtime: Runtime, running: str) -> None:
    code, out = _exec(runtime, running, {"args": ["cat", "/proc/self/cgroup"], "cwd": "/"})
    init = rt.state(runtime.root, running).pid
    with open(f"/proc/{init}/cgroup") as f:
        want = {line.split(":", 1)[1] for line in f.read().splitlines()}
    got = {line.split(":", 1)[1] for line in out.splitlines()}
    assert got == want


def test_exec_not_found(runtime: Runtime, running: str) -> None:
    with pytest.raises(CommandNotFound):
        _exec(runtime, running, {"args": ["nope"], "cwd": "/"})


def test_exec_detached_returns_pid(runtime: Runtime, running: str, tmp_path: Path) -> None:
    pf = tmp_path / "exec.pid"
    pid = rt.exec_(runtime.root, running, {"args": ["sleep", "30"], "cwd": "/"}, detach=True, pid_file=pf)
    assert int(pf.read_text()) == pid
    assert pid_alive(pid, 0)
    assert pid in rt.ps(runtime.root, running)


def test_exec_cwd_through_leaked_fd_is_refused(runtime: Runtime, running: str, tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)  # a host dir fd the caller happens to hold
    try:
        with pytest.raises(ContainerError):
            _exec(runtime, running, {"args": ["ls"], "cwd": f"/proc/self/fd/{fd}"})
    finally:
        os.close(fd)


def test_exec_killed_by_signal_is_128_plus_n(runtime: Runtime, running: str) -> None:
    assert _exec(runtime, running, {"args": ["sh", "-c", "kill -9 $$"], "cwd": "/"})[0] == 137
