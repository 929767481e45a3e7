"""The container operations: create (in ``creation``), start, state, kill, delete, wait, run, exec, list, ps,
pause, update.

Documented in ``geedocker.runtime``'s docstring. The forked processes' side is in ``init``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal as _signal
import time
from pathlib import Path

from geedocker.errors import ContainerError, ContainerStateError
from geedocker.logger import get_logger
from geedocker.procs import pid_alive
from geedocker.runtime import cgroups, namespaces, signals
from geedocker.runtime.children import console_for, kill_pid, reap, reap_exited_monitor, wait_dead, write_pid_file
from geedocker.runtime.creation import Fd, create, discard_cgroup, prepare_cgroup
from geedocker.runtime.spec import Hooks, load
from geedocker.runtime.spec_json import SpecError
from geedocker.runtime.spec_process import Process
from geedocker.runtime.state import (
    ContainerDir,
    Saved,
    State,
    check_id,
    status_of,
    to_state,
)
from geedocker.runtime.status import Status, exit_status
from geedocker.store.fsutil import dir_lock
from geedocker.values import replace

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

log = get_logger(__name__)

MAX_PROCESS_JSON = 1 << 20


def _cgroup_of(saved: Saved) -> cgroups.Cgroup | None:
    return cgroups.from_json(saved.cgroup) if saved.cgroup else None


def _hooks_from_saved(saved: Saved) -> Hooks:
    try:
        return Hooks.from_json(saved.hooks)
    except SpecError as e:
        log.warning("container %s: saved hooks are invalid: %s", saved.id, e)
        return Hooks()


def _load(root: Path | str, cid: str) -> tuple[ContainerDir, Saved, Status, cgroups.Cgroup | None]:
    check_id(cid)
    cdir = ContainerDir(Path(root).absolute(), cid)
    saved = cdir.load()
    cg = _cgroup_of(saved)
    st = status_of(cdir, saved)
    if st is Status.RUNNING and cg is not None and cg.frozen():
        st = Status.PAUSED
    return cdir, saved, st, cg


def state(root: Path | str, cid: str) -> State:
    cdir, saved, st, _ = _load(root, cid)
    return to_state(cdir, saved, st)


def start(root: Path | str, cid: str) -> None:
    cdir, saved, st, _ = _load(root, cid)
    with dir_lock(cdir.path):
        st.require("start", cid)
        payload = json.dumps(to_state(cdir, saved, Status.CREATED).to_json()).encode()
        try:
            fd = os.open(cdir.fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if e.errno in (errno.ENXIO, errno.ENOENT):
                raise ContainerStateError(f"cannot start container {cid}: its init is not waiting") from e
            raise ContainerError(f"starting container {cid}: {e.strerror}") from e
        try:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
            os.write(fd, payload)
        finally:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(cdir.fifo)
    hk = _hooks_from_saved(saved)
    if hk.poststart:
        from geedocker.runtime import hooks

        hooks.run_all(hk.poststart, to_state(cdir, saved, Status.RUNNING).to_json(), "poststart", fatal=False)


def kill(root: Path | str, cid: str, sig: int | str = _signal.SIGTERM, *, all: bool = False) -> None:
    n = signals.parse(sig)
    cdir, saved, st, cg = _load(root, cid)
    st.require("kill", cid)
    if all and cg is not None:
        for pid in cg.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, n)
        return
    kill_pid(saved.pid, saved.pid_start, n)


def delete(root: Path | str, cid: str, *, force: bool = False) -> None:
    check_id(cid)
    bare = ContainerDir(Path(root).absolute(), cid)
    if bare.exists() and not bare.state_file.exists():
        # A create that is still running, or one that died before saving anything.
        if not force:
            raise ContainerStateError(f"cannot delete container {cid}: it has no saved state (being created, "
                                      "or its creation was interrupted); use force to remove what is left")
        # Its cgroup may be made already: the default one is known from the root and the id (one a spec named is
        # its caller's to remove, as the engine does); it goes first, so a failure keeps the dir to retry with.
        cgroups.for_container(cgroups.default_path(os.fspath(bare.root), cid), cid).destroy()
        bare.remove()
        return
    cdir, saved, st, cg = _load(root, cid)
    with dir_lock(cdir.path):
        if st in (Status.RUNNING, Status.PAUSED) and not force:
            raise ContainerStateError(f"cannot delete container {cid}: it is {st.value} (stop it or use force)")
        if st is not Status.STOPPED:
            if st is Status.PAUSED and cg is not None:
                cg.thaw()
            kill_pid(saved.pid, saved.pid_start, _signal.SIGKILL)
            if not wait_dead(saved.pid, saved.pid_start, 10.0):
                raise ContainerError(f"container {cid}: init {saved.pid} did not die after SIGKILL")
        if cg is not None:
            cg.destroy()
        if saved.monitor_pid:
            # The monitor records the exit status, then exits: let it finish before the dir goes.
            if wait_dead(saved.monitor_pid, 0, 5.0):
                reap_exited_monitor(saved.monitor_pid)
        stopped = to_state(cdir, saved, Status.STOPPED).to_json()
        if "mount" not in saved.namespaces:
            from geedocker.runtime.rootfs import unmount_under

            unmount_under(saved.rootfs)  # made in our own mount namespace: they would stay on the host
        cdir.remove()
    hk = _hooks_from_saved(saved)
    if hk.poststop:
        from geedocker.runtime import hooks

        hooks.run_all(hk.poststop, stopped, "poststop", fatal=False)


def wait(root: Path | str, cid: str, timeout: float | None = None) -> int:
    """Block until the container's init exits; its exit status (128+N when killed by signal N)."""
    check_id(cid)
    cdir = ContainerDir(Path(root).absolute(), cid)
    saved = cdir.load()
    deadline = None if timeout is None else time.monotonic() + timeout
    if not saved.monitor_pid and timeout is None:
        code = _reap_own_child(saved.pid)
        if code is not None:
            _record_exit(cdir, code)
            return code
    if not wait_dead(saved.pid, saved.pid_start, timeout):
        raise TimeoutError(f"container {cid} still running after {timeout}s")
    # The monitor reaps the init and writes exit.json right after: look again soon, then less often.
    delay = 0.0002
    while True:
        code = cdir.exit_code()
        if code is not None:
            return code
        if not saved.monitor_pid or not _monitor_alive(saved):
            code = cdir.exit_code()
            if code is not None:
                return code
            raise ContainerError(f"container {cid} exited but its exit status is unknown (no monitor)")
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise TimeoutError(f"container {cid}: no exit status after {timeout}s")
        time.sleep(delay)
        delay = min(delay * 2, 0.002)


def _reap_own_child(pid: int) -> int | None:
    """Wait for ``pid`` if it is our child: an init created without a monitor by a caller that is a child
    subreaper (``runc run``'s model: the foreground runtime is the container's parent). Its exit status, or
    None if it is not our child."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return None
        except InterruptedError:
            continue
        return exit_status(status)


def _record_exit(cdir: ContainerDir, code: int) -> None:
    from geedocker.runtime.state import write_exit

    try:
        dir_fd = os.open(cdir.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return  # deleted meanwhile
    try:
        write_exit(dir_fd, code)
    finally:
        os.close(dir_fd)


def _monitor_alive(saved: Saved) -> bool:
    return pid_alive(saved.monitor_pid, 0)


def run(
    root: Path | str,
    cid: str,
    bundle: Path | str,
    *,
    pid_file: Path | str | None = None,
    console_socket: Path | str | None = None,
    stdin: Fd = None,
    stdout: Fd = None,
    stderr: Fd = None,
    keep: bool = False,
) -> int:
    create(root, cid, bundle, pid_file=pid_file, console_socket=console_socket, stdin=stdin, stdout=stdout,
           stderr=stderr, monitor=True)
    try:
        start(root, cid)
        code = wait(root, cid)
    except BaseException:
        with contextlib.suppress(ContainerError):
            delete(root, cid, force=True)
        raise
    if not keep:
        delete(root, cid, force=True)
    return code


def _load_process(process: dict[str, Any] | Path | str) -> Process:
    if isinstance(process, dict):
        return Process.from_json(process)
    path = Path(process)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_PROCESS_JSON + 1)
    except OSError as e:
        raise ContainerError(f"reading process file {path}: {e.strerror}") from e
    try:
        obj = json.loads(raw)
    except ValueError as e:
        raise SpecError(f"{path}: not valid JSON: {e}") from e
    return Process.from_json(obj)


def exec_(
    root: Path | str,
    cid: str,
    process: dict[str, Any] | Path | str,
    *,
    console_socket: Path | str | None = None,
    detach: bool = False,
    pid_file: Path | str | None = None,
    stdin: Fd = None,
    stdout: Fd = None,
    stderr: Fd = None,
) -> int:
    from geedocker.runtime import sync
    from geedocker.runtime.exec_chain import ExecConfig, exec_chain
    from geedocker.runtime.sync import SETUP_TIMEOUT, Msg

    proc = _load_process(process)
    cdir, saved, st, cg = _load(root, cid)
    st.require("exec", cid)
    types = tuple(namespaces.PROC_NAMES)
    try:
        container_spec, _ = load(Path(saved.bundle))
        profile = container_spec.linux.seccomp
        if profile is not None:
            from geedocker.runtime import seccomp

            seccomp.prepare(profile, Path(root).absolute())
    except SpecError as e:
        raise ContainerError(f"container {cid}: re-reading its bundle for exec: {e}") from e
    cfg = ExecConfig(
        process=proc,
        target_pid=saved.pid,
        namespace_types=tuple(t for t in types if os.path.exists(f"/proc/{saved.pid}/ns/{namespaces.PROC_NAMES[t]}")),
        console_fd=None,
        stdio=(stdin, stdout, stderr),
        detach=detach,
        seccomp=profile,
    )
    csock = console_for(proc, console_socket)
    if csock is not None:
        cfg = replace(cfg, console_fd=csock.fileno())
    parent_sock, child_sock = sync.pair()
    b = 0
    try:
        b = os.fork()
        if b == 0:
            parent_sock.close()
            exec_chain(cfg, child_sock)
        child_sock.close()
        sync.expect(parent_sock, Msg.HELLO, SETUP_TIMEOUT, "the exec'd process")
        if cg is not None:
            cg.add(b)
        sync.send(parent_sock, Msg.OK)
        pid = int(sync.expect(parent_sock, Msg.PID, SETUP_TIMEOUT, "the exec'd process")["pid"])
        sync.expect(parent_sock, Msg.READY, SETUP_TIMEOUT, "the exec'd process")
        if pid_file is not None:
            write_pid_file(Path(pid_file), pid)
        parent_sock.close()
        if detach:
            reap(b)
            return pid
        _, status = os.waitpid(b, 0)
        b = 0
        return exit_status(status)
    except BaseException:
        if b:
            with contextlib.suppress(ProcessLookupError):
                os.kill(b, _signal.SIGKILL)
            reap(b)
        raise
    finally:
        parent_sock.close()
        if csock is not None:
            csock.close()


def list_(root: Path | str) -> list[State]:
    base = Path(root).absolute()
    out: list[State] = []
    if not base.is_dir():
        return out
    for d in sorted(base.iterdir()):
        if not d.is_dir():
            continue
        try:
            out.append(state(base, d.name))
        except ContainerError:
            continue
    return out


def ps(root: Path | str, cid: str) -> list[int]:
    _, saved, st, cg = _load(root, cid)
    if cg is not None:
        return sorted(cg.pids())
    return [saved.pid] if st is not Status.STOPPED else []


def update(root: Path | str, cid: str, resources: dict[str, Any]) -> None:
    """Change a live container's cgroup limits (a spec ``linux.resources`` object), like ``runc update``."""
    from geedocker.runtime.spec_resources import Resources

    _, _, st, cg = _load(root, cid)
    if st is Status.STOPPED:
        raise ContainerStateError(f"cannot update container {cid}: it is stopped")
    if cg is None:
        raise ContainerError(f"cannot update container {cid}: it has no cgroup")
    cg.apply(Resources.from_json(resources))


def pause(root: Path | str, cid: str) -> None:
    _, _, st, cg = _load(root, cid)
    st.require("pause", cid)
    if cg is None:
        raise ContainerError(f"cannot pause container {cid}: it has no cgroup")
    cg.freeze()


def resume(root: Path | str, cid: str) -> None:
    _, _, st, cg = _load(root, cid)
    st.require("resume", cid)
    assert cg is not None
    cg.thaw()


__all__ = [
    "create",
    "delete",
    "discard_cgroup",
    "exec_",
    "kill",
    "list_",
    "pause",
    "prepare_cgroup",
    "ps",
    "resume",
    "run",
    "start",
    "state",
    "update",
    "wait",
]
