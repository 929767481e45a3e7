"""``create``'s processes up to the container's init: the runtime's child (the monitor, or without one the
bootstrap) enters at ``create_chain``. Nothing here returns: each path ends in ``os._exit`` (or in the init,
``runtime.init``). The messages they exchange with the runtime are drawn in ``geedocker.runtime.creation``'s
docstring.

``create``::

    runtime --fork--> [monitor: subreaper, own session, host namespaces]   (only with monitor=True)
                        --fork--> bootstrap: joins/creates the namespaces (user first, mapped by the
                                  runtime; a new cgroup namespace is left to the init), forks the init,
                                  reports its pid, exits. Without a user namespace there is no bootstrap:
                                  the monitor sets the PID and time namespaces of its children, forks the
                                  init and reports its pid; the init joins/creates the other namespaces.
                                  --fork--> init: pid 1 of the new PID namespace: mounts (its cgroup
                                       dirs as bind mounts), pivot_root, hostname, sysctl, masked paths;
                                       meanwhile the runtime moves it into its cgroups and says JOINED: the
                                       init waits for that and makes its cgroup namespace (before pivot_root
                                       when there are createRuntime or createContainer hooks: they see it in
                                       its cgroups); then pty, user, caps, cwd, looks the executable up, says
                                       READY, waits on exec.fifo, execs

Errors before exec are sent to the caller over the sync socket (``sync.error_message``).
"""

from __future__ import annotations

import os
import signal

from geedocker.procs import close_fds
from geedocker.runtime import namespaces, sync, syscalls
from geedocker.runtime.forked import fail, not_dumpable
from geedocker.runtime.init import InitConfig, container_init
from geedocker.runtime.status import exit_status
from geedocker.runtime.sync import SETUP_TIMEOUT, Msg

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from typing import NoReturn

    from geedocker.runtime.spec import Spec


def _maps_root(spec: Spec) -> bool:
    return any(m.container_id == 0 for m in spec.linux.uid_mappings)


def _become_ns_root(spec: Spec) -> None:
    """In a user namespace whose uid 0 is mapped, become that root (so created files are owned right)."""
    if spec.linux.namespace("user") is not None and _maps_root(spec):
        if any(m.container_id == 0 for m in spec.linux.gid_mappings):
            os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)


def create_chain(cfg: InitConfig, sock: _socket.socket, monitor: bool) -> NoReturn:
    """Entry of the runtime's child: the monitor, or without one the bootstrap."""
    try:
        if not monitor:
            _bootstrap(cfg, sock, None)
        os.setsid()  # the caller's child (no second fork: the caller reaps it in delete, or init does)
        syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
        dir_fd = os.open(cfg.state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        if cfg.spec.linux.namespace("user") is None:
            init_pid = _fork_init(cfg, sock)  # no user namespace to map: the monitor forks the init, no bootstrap
            sock.close()
            os.close(cfg.fifo_fd)
            if cfg.console_fd is not None:
                os.close(cfg.console_fd)
            _monitor(dir_fd, init_pid=init_pid)
        r, w = os.pipe()
        b = os.fork()
        if b == 0:
            os.close(r)
            os.close(dir_fd)
            _bootstrap(cfg, sock, w)
        os.close(w)
        sock.close()
        os.close(cfg.fifo_fd)
        if cfg.console_fd is not None:
            os.close(cfg.console_fd)
        _monitor(dir_fd, pid_pipe=r)
    except BaseException as e:
        fail(sock, e)


def _fork_init(cfg: InitConfig, sock: _socket.socket) -> int:
    """The monitor's way to the init when there is no user namespace: a new (or joined) PID and time namespace
    apply to the next child only, so the monitor sets them and forks the init, which joins and makes the other
    namespaces itself. The monitor stays in the host's namespaces. The init's pid is said on the socket (PID);
    the init speaks only after that."""
    not_dumpable()
    linux = cfg.spec.linux
    fds = namespaces.open_paths(linux)
    for_children = ("pid", "time")
    namespaces.join(fds, for_children)
    namespaces.unshare(namespaces.new_flags(linux, exclude=[t for t in namespaces.FLAGS if t not in for_children]))

    def in_init() -> None:
        namespaces.join(fds)
        # A new cgroup namespace is made later, once the runtime has moved the init into its cgroups.
        namespaces.unshare(namespaces.new_flags(linux, exclude=["user", "cgroup", *for_children]))

    pid = _fork_container_init(cfg, sock, monitor_pid=os.getpid(), in_init=in_init)
    for fd in fds.values():
        os.close(fd)
    return pid


def _fork_container_init(cfg: InitConfig, sock: _socket.socket, *, monitor_pid: int,
                         in_init: Callable[[], None] | None = None) -> int:
    """Fork the container's init and say its pid (and the monitor's) on the socket (PID). The init runs
    ``in_init`` and its own setup only after that message (it waits for EOF on a pipe), so that it speaks on the
    socket after it."""
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(go_w)
            os.read(go_r, 1)
            os.close(go_r)
            if in_init is not None:
                in_init()
        except BaseException as e:
            fail(sock, e)
        container_init(cfg, sock)
    os.close(go_r)
    sync.send(sock, Msg.PID, pid=pid, monitor=monitor_pid)
    os.close(go_w)
    return pid


def _monitor(dir_fd: int, *, init_pid: int = 0, pid_pipe: int | None = None) -> NoReturn:
    """Wait for the container's init (our child, or re-parented to us, the subreaper: its pid comes on
    ``pid_pipe`` from the bootstrap then) and record its exit status."""
    from geedocker.runtime.state import write_exit

    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM, signal.SIGTSTP, signal.SIGTTIN,
                signal.SIGTTOU, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    close_fds({dir_fd} if pid_pipe is None else {pid_pipe, dir_fd})
    if pid_pipe is not None:
        data = b""
        while True:
            chunk = os.read(pid_pipe, 64)
            if not chunk:
                break
            data += chunk
        os.close(pid_pipe)
        init_pid = int(data) if data.strip().isdigit() else 0
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if init_pid and pid == init_pid:
            write_exit(dir_fd, exit_status(status))
            init_pid = 0
    os._exit(0)


def _bootstrap(cfg: InitConfig, sock: _socket.socket, monitor_pipe: int | None) -> NoReturn:
    try:
        not_dumpable()
        linux = cfg.spec.linux
        fds = namespaces.open_paths(linux)
        user = linux.namespace("user")
        if user is not None and user.path:
            namespaces.join(fds, ["user"])
        elif user is not None:
            namespaces.unshare(syscalls.CLONE_NEWUSER)
            sync.send(sock, Msg.USERMAP, pid=os.getpid())  # the runtime writes our id maps
            sync.expect(sock, Msg.OK, SETUP_TIMEOUT, "the runtime")
        namespaces.join(fds)
        # A new cgroup namespace is made by the init, once the runtime has moved it into the container's cgroups
        # (its root is the cgroup of the process that makes it): the move waits in the kernel while the init mounts.
        namespaces.unshare(namespaces.new_flags(linux, exclude=["user", "cgroup"]))
        _become_ns_root(cfg.spec)
        pid = _fork_container_init(cfg, sock, monitor_pid=os.getppid() if monitor_pipe is not None else 0)
        if monitor_pipe is not None:
            os.write(monitor_pipe, str(pid).encode())
            os.close(monitor_pipe)
        os._exit(0)
    except BaseException as e:
        fail(sock, e)
