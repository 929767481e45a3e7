"""``create``: an OCI bundle -> a container whose init waits on exec.fifo for ``start``; and the cgroup made
ahead of it (``prepare_cgroup``/``discard_cgroup``). The other operations are in ``container``; the forked
processes' side is in ``create_chain`` and ``init``.

 the runtime and the processes it forks, with the messages on the sync socket (``sync.Msg``).
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
import os
import signal as _signal
from pathlib import Path

from geedocker.errors import ContainerError
from geedocker.procs import pid_alive
from geedocker.runtime import cgroups, namespaces
from geedocker.runtime.children import console_for, kill_pid, reap, wait_dead, write_pid_file
from geedocker.runtime.spec import Spec, load
from geedocker.runtime.spec_json import SpecError
from geedocker.runtime.state import ContainerDir, Saved, State, check_id, proc_start_time, to_state
from geedocker.runtime.status import Status
from geedocker.timefmt import now_rfc3339

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from typing import Any

    from geedocker.runtime.init import InitConfig

Fd = int | None


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
        csock = console_for(spec.process, console_socket)
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
            reap(forked.first)  # the bootstrap exits once it has reported the init's pid
            forked.first = 0
        _await_ready(sock, spec, cdir, saved)
        if pid_file is not None:
            write_pid_file(Path(pid_file), forked.init)
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
            kill_pid(self.init, 0, _signal.SIGKILL)
        if self.monitor:
            wait_dead(self.monitor, 0, 5.0)  # it writes exit.json into the dir about to be removed
        if self.first:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.first, _signal.SIGKILL)
            reap(self.first)


def _validate(spec: Spec) -> None:
    """Checks that need the whole config. A namespace type absent from linux.namespaces is the runtime's own
    (the spec's rule): without a mount namespace the mounts are made in ours and the root is entered with
    chroot, as runc does; masking paths there would hide them on the host, so that is refused."""
    if spec.linux.namespace("mount") is None and (spec.linux.masked_paths or spec.linux.readonly_paths):
        raise SpecError("config.json: linux.maskedPaths/readonlyPaths need a mount namespace of the container's "
                        "own (linux.namespaces has no mount)")


def _cgroup_sources(spec: Spec, cg: cgroups.Cgroup) -> tuple[tuple[str, str], ...]:
    """What the init binds on the spec's cgroup mount: the container's cgroup dirs (none without a mount)."""
    if not any(m.type in ("cgroup", "cgroup2") for m in spec.mounts):
        return ()
    return tuple(cg.mount_sources())


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
    """Fork our child (the monitor, or the bootstrap), which goes on in ``create_chain.create_chain``; our end
    of the sync socket."""
    from geedocker.runtime import sync
    from geedocker.runtime.create_chain import create_chain

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
    namespace (see ``init.container_init``)."""
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


def _raise_reported(sock: _socket.socket) -> None:
    """Raise the error that an init which died during setup sent before it died; return if it sent none."""
    from geedocker.runtime import sync  # as create() imports it

    for _ in range(8):  # its progress messages, then its error or EOF
        try:
            sync.recv(sock, 1.0)
        except sync.SyncError:
            return


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
