"""The container operations: create, start, state, kill, delete, wait, run, exec, list, ps, pause.

Documented in ``geedocker.runtime``'s docstring. The forked processes' side is in ``init``.

``create``: the runtime and the processes it forks, with the messages on the sync socket (``sync.Msg``).
Without a monitor the runtime forks the bootstrap itself; without a new user namespace the monitor forks
the init itself (there is no bootstrap, and no USERMAP)::

    runtime                      monitor          bootstrap                   init
       |--fork-------------------->|                  |                        |
       |                           |--fork----------->| new user namespace     |
       |<----------------------------------- USERMAP  |                        |
       | writes its id maps                           |                        |
       |--OK----------------------------------------->| other namespaces       |
       |                                              |--fork----------------->|
       |<----------------------------------- PID (the init's, the monitor's)   | (waits for PID to go out)
       | saves the state, moves the init into its cgroups                       | mounts
       |--JOINED--------------------------------------------------------------->| cgroup namespace
       |<-------------------------------------------------------------MOUNTED---|
       | createRuntime hooks; OK (the state) ---------------------------------->| createContainer hooks
       |    (OK only when there are such hooks)                                 | pivot_root, hostname, ...
       |<---------------------------------------------------------------READY---| waits on exec.fifo
    start: writes the state into exec.fifo -------------------------------------> startContainer hooks, exec

Any child that fails sends ERROR (why) and exits; the runtime raises it. The monitor stays, waits for the init
and records its exit status.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import select
import signal as _signal
import time
from pathlib import Path

from geedocker.errors import ContainerError, ContainerStateError
from geedocker.logger import get_logger
from geedocker.procs import pid_alive
from geedocker.runtime import cgroups, namespaces, signals
from geedocker.runtime.spec import Hooks, Process, Spec, SpecError, load
from geedocker.runtime.state import (
    ContainerDir,
    Saved,
    State,
    check_id,
    proc_start_time,
    status_of,
    to_state,
)
from geedocker.runtime.status import Status, exit_status
from geedocker.store.fsutil import dir_lock
from geedocker.timefmt import now_rfc3339
from geedocker.values import replace

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import _socket
    import socket
    from collections.abc import Callable
    from typing import Any

    from geedocker.runtime.init import InitConfig

log = get_logger(__name__)

Fd = int | None
MAX_PROCESS_JSON = 1 << 20


def _validate(spec: Spec) -> None:
    """Checks that need the whole config. A namespace type absent from linux.namespaces is the runtime's own
    (the spec's rule): without a mount namespace the mounts are made in ours and the root is entered with
    chroot, as runc does; masking paths there would hide them on the host, so that is refused."""
    if spec.linux.namespace("mount") is None and (spec.linux.masked_paths or spec.linux.readonly_paths):
        raise SpecError("config.json: linux.maskedPaths/readonlyPaths need a mount namespace of the container's "
                        "own (linux.namespaces has no mount)")


def _cgroup_of(saved: Saved) -> cgroups.Cgroup | None:
    return cgroups.from_json(saved.cgroup) if saved.cgroup else None


def _cgroup_sources(spec: Spec, cg: cgroups.Cgroup) -> tuple[tuple[str, str], ...]:
    """What the init binds on the spec's cgroup mount: the container's cgroup dirs (none without a mount)."""
    if not any(m.type in ("cgroup", "cgroup2") for m in spec.mounts):
        return ()
    return tuple(cg.mount_sources())


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _reap_exited_monitor(pid: int) -> None:
    """Collect the monitor if it is our child (we created the container in this process) and has exited."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _kill_pid(pid: int, start: int, sig: int) -> None:
    """Signal ``pid`` through a pidfd, after checking it is still the process that started at ``start``."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        if start and proc_start_time(pid) != start:
            return
        with contextlib.suppress(ProcessLookupError):
            _signal.pidfd_send_signal(pidfd, sig)
    finally:
        os.close(pidfd)


def _wait_dead(pid: int, start: int, timeout: float | None) -> bool:
    """Wait until ``pid`` (with that start time) has exited (a zombie counts); False on timeout."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        if not pid_alive(pid, start):
            return True
        r, _, _ = select.select([pidfd], [], [], timeout)
        return bool(r)
    finally:
        os.close(pidfd)


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


# ---------------------------------------------------------------------------------------------- create


def create(
    root: Path | str,
    cid: str,
    bundle: Path | str,
    *,
    pid_file: Path | str | None = None,
    console_socket: Path | str | None = None,
    stdin: Fd = None,
    stdout: Fd = None,
    stderr: Fd = None,
    monitor: bool = True,
) -> State:
    """Create container ``cid`` from ``bundle``: its init waits on exec.fifo for ``start``. The steps below
    share one cleanup stack: what each made is taken back, newest first, if a later one fails (see the
    module's docstring for the messages)."""
    check_id(cid)
    bundle_path = Path(bundle).absolute()
    spec, raw, rootfs_path = _read_bundle(bundle_path, Path(root).absolute())
    assert spec.process is not None
    from geedocker.runtime.init import InitConfig

    cdir = ContainerDir(Path(root).absolute(), cid)
    cdir.make()
    with contextlib.ExitStack() as stack:
        _on_failure(stack, cdir.remove)
        cg = _make_cgroup(spec, cdir, cid)
        _on_failure(stack, _destroy_cgroup, cg)
        fifo_fd = _open_fifo(cdir)
        stack.callback(os.close, fifo_fd)
        csock = _console(spec.process, console_socket)
        if csock is not None:
            stack.callback(csock.close)
        cg.apply(cgroups.with_default_devices(spec.linux.resources, spec.linux.devices))
        cfg = InitConfig(
            cid=cid,
            spec=spec,
            process=spec.process,
            bundle=os.fspath(bundle_path),
            rootfs=rootfs_path,
            state_dir=os.fspath(cdir.path),
            fifo_fd=fifo_fd,
            console_fd=None if csock is None else csock.fileno(),
            stdio=(stdin, stdout, stderr),
            cgroup_sources=_cgroup_sources(spec, cg),
        )
        forked = _Forked()
        _on_failure(stack, forked.kill)
        sock = _fork_chain(cfg, monitor, forked)
        stack.callback(sock.close)  # first when unwinding: a child waiting for our next message sees EOF, exits
        _map_ids(sock, spec)
        _await_pids(sock, forked)
        saved = _save(cdir, cid, spec, raw, bundle_path, rootfs_path, forked, cg)
        _join_cgroup(sock, cg, forked.init)
        if not monitor:
            _reap(forked.first)  # the bootstrap exits once it has reported the init's pid
            forked.first = 0
        _await_ready(sock, spec, cdir, saved)
        if pid_file is not None:
            _write_pid_file(Path(pid_file), forked.init)
        state_ = to_state(cdir, saved, Status.CREATED)
    return state_


def _on_failure(stack: contextlib.ExitStack[bool | None], undo: Callable[..., object], *args: object) -> None:
    """Push ``undo(*args)`` on ``stack``, to run only when the block it guards fails."""

    def exit_(exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc_type is not None:
            undo(*args)
        return False

    stack.push(exit_)


class _Forked:
    """The processes ``create`` forked, as far as it knows them (0: not known yet, or reaped)."""

    def __init__(self) -> None:
        self.first = 0  # our child: the monitor, or the bootstrap when there is no monitor
        self.init = 0
        self.monitor = 0

    def kill(self) -> None:
        """Undo: the init killed, the monitor given time to record that, our child killed and reaped."""
        if self.init:
            _kill_pid(self.init, 0, _signal.SIGKILL)
        if self.monitor:
            _wait_dead(self.monitor, 0, 5.0)  # it writes exit.json into the dir about to be removed
        if self.first:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.first, _signal.SIGKILL)
            _reap(self.first)


def _read_bundle(bundle: Path, root: Path) -> tuple[Spec, dict[str, Any], str]:
    """The bundle's spec (validated), its raw object (for the hooks' state) and its rootfs's real path; a
    seccomp profile is compiled now, so that its errors come before anything is made."""
    spec, raw = load(bundle)
    _validate(spec)
    if spec.linux.seccomp is not None:
        from geedocker.runtime import seccomp

        seccomp.prepare(spec.linux.seccomp, root)
    rootfs_path = os.path.realpath(spec.rootfs(bundle))
    if not os.path.isdir(rootfs_path):
        raise ContainerError(f"root filesystem {rootfs_path} of bundle {bundle} is not a directory")
    return spec, raw, rootfs_path


def _make_cgroup(spec: Spec, cdir: ContainerDir, cid: str) -> cgroups.Cgroup:
    cg = cgroups.for_container(spec.linux.cgroups_path or cgroups.default_path(os.fspath(cdir.root), cid), cid)
    busy = cg.pids()
    if busy:  # never adopt (and later kill) another container's processes
        raise cgroups.CgroupError(f"the cgroup of container {cid} ({cg.to_json()}) is already in use by "
                                  f"processes {busy[:10]}")
    cg.create()
    # As early as can be, since the init's move into its cgroups waits for the grace period this starts; not
    # before create: the kernel holds cgroup_mutex, which mkdir needs, meanwhile.
    cgroups.warm_up_migration()
    return cg


def _destroy_cgroup(cg: cgroups.Cgroup) -> None:
    with contextlib.suppress(ContainerError, OSError):
        cg.destroy()


def _open_fifo(cdir: ContainerDir) -> int:
    """exec.fifo, which the init blocks on (opening it for writing) until ``start`` reads it."""
    os.mkfifo(cdir.fifo, 0o600)
    return os.open(cdir.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)


def _fork_chain(cfg: InitConfig, monitor: bool, forked: _Forked) -> _socket.socket:
    """Fork our child (the monitor, or the bootstrap), which goes on in ``init.create_chain``; our end of the
    sync socket."""
    from geedocker.runtime import sync
    from geedocker.runtime.init import create_chain

    sock, child_sock = sync.pair()
    try:
        forked.first = os.fork()
        if forked.first == 0:
            sock.close()
            create_chain(cfg, child_sock, monitor)
    except BaseException:
        sock.close()
        raise
    finally:
        child_sock.close()
    return sock


def _map_ids(sock: _socket.socket, spec: Spec) -> None:
    """A new user namespace: the bootstrap says it made it (USERMAP); we write its id maps and say OK."""
    from geedocker.runtime import sync
    from geedocker.runtime.sync import SETUP_TIMEOUT, Msg

    userns = spec.linux.namespace("user")
    if userns is not None and not userns.path:
        bootstrap_pid = int(sync.expect(sock, Msg.USERMAP, SETUP_TIMEOUT)["pid"])
        namespaces.write_id_maps(bootstrap_pid, spec.linux.uid_mappings, spec.linux.gid_mappings)
        sync.send(sock, Msg.OK)


def _await_pids(sock: _socket.socket, forked: _Forked) -> None:
    """PID: the init's pid and the monitor's (0 without one)."""
    from geedocker.runtime import sync
    from geedocker.runtime.sync import SETUP_TIMEOUT, Msg

    msg = sync.expect(sock, Msg.PID, SETUP_TIMEOUT)
    forked.init = int(msg["pid"])
    forked.monitor = int(msg.get("monitor") or 0)


def _save(cdir: ContainerDir, cid: str, spec: Spec, raw: dict[str, Any], bundle: Path, rootfs_path: str,
          forked: _Forked, cg: cgroups.Cgroup) -> Saved:
    saved = Saved(
        id=cid,
        bundle=os.fspath(bundle),
        rootfs=rootfs_path,
        pid=forked.init,
        pid_start=proc_start_time(forked.init) or 0,
        monitor_pid=forked.monitor,
        created=now_rfc3339(),
        annotations=dict(spec.annotations),
        cgroup=cg.to_json(),
        hooks=dict(raw.get("hooks") or {}),
        namespaces=namespaces.ns_paths(forked.init, [ns.type for ns in spec.linux.namespaces]),
    )
    cdir.save(saved)
    return saved


def _join_cgroup(sock: _socket.socket, cg: cgroups.Cgroup, init_pid: int) -> None:
    """Move the init into the container's cgroups and say JOINED. The init, not the bootstrap: the init has
    not forked yet. It sets its root filesystem up meanwhile and waits for JOINED before it makes its cgroup
    namespace (see ``init._container_init``)."""
    from geedocker.runtime import sync
    from geedocker.runtime.sync import Msg

    try:
        cg.add(init_pid)
        sync.send(sock, Msg.JOINED)
    except (cgroups.CgroupError, OSError):
        if pid_alive(init_pid, 0):
            raise
        # it died meanwhile (in its mounts, or after them: a bad host name): what it said before dying is the
        # error to report
        _raise_reported(sock)
        raise


def _await_ready(sock: _socket.socket, spec: Spec, cdir: ContainerDir, saved: Saved) -> None:
    """MOUNTED; with createRuntime/createContainer hooks, ours run and OK (with the state) lets the init run
    its own; then READY: the init waits on exec.fifo."""
    from geedocker.runtime import sync
    from geedocker.runtime.sync import SETUP_TIMEOUT, Msg

    sync.expect(sock, Msg.MOUNTED, SETUP_TIMEOUT)
    if spec.hooks.create_runtime or spec.hooks.create_container:
        creating = to_state(cdir, saved, Status.CREATING).to_json()
        if spec.hooks.create_runtime:
            from geedocker.runtime import hooks

            hooks.run_all(spec.hooks.create_runtime, creating, "createRuntime")
        sync.send(sock, Msg.OK, state=creating)
    sync.expect(sock, Msg.READY, SETUP_TIMEOUT)


def prepare_cgroup(cgroups_path: str, cid: str) -> None:
    """Make container ``cid``'s cgroups (``cgroups_path``, as its config.json will give it) ahead of ``create``,
    and start the kernel's migration wait there (``cgroups.warm_up_migration``): a caller that knows the path
    early overlaps that wait with its own work until ``create``, which finds the cgroups made. Anything amiss
    is left for ``create`` to meet and report; a caller that will not call ``create`` calls ``discard_cgroup``."""
    try:
        cg = cgroups.for_container(cgroups_path, cid)
        if cg.pids():
            return  # another container's: create refuses it
        cg.create()
    except (ContainerError, OSError):
        return
    cgroups.warm_up_migration()


def discard_cgroup(cgroups_path: str, cid: str) -> None:
    """Undo ``prepare_cgroup`` when ``create`` will not come: remove the cgroups if nothing is in them."""
    try:
        cg = cgroups.for_container(cgroups_path, cid)
        if not cg.pids():
            cg.destroy()
    except (ContainerError, OSError):
        pass


def _console(p: Process, console_socket: Path | str | None) -> socket.socket | None:
    """The connected console socket when ``p.terminal`` (connected here, in the runtime's namespaces)."""
    if not p.terminal:
        return None
    from geedocker.runtime import console
    if console_socket is None:
        raise ContainerError("process.terminal is true but no console socket was given")
    return console.connect(os.fspath(Path(console_socket).absolute()))


def _raise_reported(sock: _socket.socket) -> None:
    """Raise the error that an init which died during setup sent before it died; return if it sent none."""
    from geedocker.runtime import sync  # as create() imports it

    for _ in range(8):  # its progress messages, then its error or EOF
        try:
            sync.recv(sock, 1.0)
        except sync.SyncError:
            return


def _write_pid_file(path: Path, pid: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(str(pid))
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------- operations


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
    _kill_pid(saved.pid, saved.pid_start, n)


def delete(root: Path | str, cid: str, *, force: bool = False) -> None:
    check_id(cid)
    bare = ContainerDir(Path(root).absolute(), cid)
    if bare.exists() and not bare.state_file.exists():
        # A create that is still running, or one that died before saving anything.
        if not force:
            raise ContainerStateError(f"cannot delete container {cid}: it has no saved state (being created, "
                                      "or its creation was interrupted); use force to remove what is left")
        bare.remove()
        return
    cdir, saved, st, cg = _load(root, cid)
    with dir_lock(cdir.path):
        if st in (Status.RUNNING, Status.PAUSED) and not force:
            raise ContainerStateError(f"cannot delete container {cid}: it is {st.value} (stop it or use force)")
        if st is not Status.STOPPED:
            if st is Status.PAUSED and cg is not None:
                cg.thaw()
            _kill_pid(saved.pid, saved.pid_start, _signal.SIGKILL)
            if not _wait_dead(saved.pid, saved.pid_start, 10.0):
                raise ContainerError(f"container {cid}: init {saved.pid} did not die after SIGKILL")
        if cg is not None:
            cg.destroy()
        if saved.monitor_pid:
            # The monitor records the exit status, then exits: let it finish before the dir goes.
            if _wait_dead(saved.monitor_pid, 0, 5.0):
                _reap_exited_monitor(saved.monitor_pid)
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
    if not _wait_dead(saved.pid, saved.pid_start, timeout):
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
    from geedocker.runtime.init import ExecConfig, exec_chain
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
    csock = _console(proc, console_socket)
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
            _write_pid_file(Path(pid_file), pid)
        parent_sock.close()
        if detach:
            _reap(b)
            return pid
        _, status = os.waitpid(b, 0)
        b = 0
        return exit_status(status)
    except BaseException:
        if b:
            with contextlib.suppress(ProcessLookupError):
                os.kill(b, _signal.SIGKILL)
            _reap(b)
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
    from geedocker.runtime.spec import Resources

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
