"""The code that runs in the processes the runtime forks. Nothing here returns: each path ends in
``os._exit`` or ``execve``. The messages they exchange with the runtime are drawn in
``geedocker.runtime.creation``'s docstring.

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

``exec``::

    runtime --fork--> exec's bootstrap: joins the container's namespaces --fork--> the process: set up, execs
                      the bootstrap waits for the process and exits with its status (at once with ``detach``)

Errors before exec are sent to the caller over the sync socket (``sync.error_message``).
"""

from __future__ import annotations

import _socket  # not socket: its enums cost a millisecond of every start
import json
import os
import select
import signal

from geedocker.errors import ContainerError
from geedocker.procs import close_fds
from geedocker.runtime import namespaces, process, rootfs, sync, syscalls
from geedocker.runtime.spec import Spec
from geedocker.runtime.spec_process import Process
from geedocker.runtime.status import exit_status
from geedocker.runtime.sync import SETUP_TIMEOUT, Msg
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable
    from typing import NoReturn

    from geedocker.runtime.seccomp import Filter, Seccomp

MAX_START_STATE = 1 << 20


@value
class InitConfig:
    cid: str
    spec: Spec
    process: Process
    bundle: str
    rootfs: str
    state_dir: str
    fifo_fd: int  # exec.fifo opened O_RDONLY|O_NONBLOCK by the caller
    console_fd: int | None  # a connected console socket when process.terminal
    stdio: tuple[int | None, int | None, int | None]
    cgroup_sources: tuple[tuple[str, str], ...] = ()  # (dir below the cgroup mount, host dir to bind)


def _fail(sock: _socket.socket | None, exc: BaseException, code: int = 1) -> NoReturn:
    try:
        if sock is not None:
            sock.send(json.dumps(sync.error_message(exc)).encode())
        else:
            os.write(2, f"geedocker-runtime: {exc}\n".encode())
    except OSError:
        pass
    os._exit(code)


def _setup_stdio(stdio: tuple[int | None, int | None, int | None]) -> None:
    tmp = [None if fd is None else os.dup(fd) for fd in stdio]
    for i, t in enumerate(tmp):
        if t is not None:
            os.dup2(t, i)
            os.close(t)


def _maps_root(spec: Spec) -> bool:
    return any(m.container_id == 0 for m in spec.linux.uid_mappings)


def _become_ns_root(spec: Spec) -> None:
    """In a user namespace whose uid 0 is mapped, become that root (so created files are owned right)."""
    if spec.linux.namespace("user") is not None and _maps_root(spec):
        if any(m.container_id == 0 for m in spec.linux.gid_mappings):
            os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)


# ---------------------------------------------------------------------------------------------- create


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
        _fail(sock, e)


def _fork_init(cfg: InitConfig, sock: _socket.socket) -> int:
    """The monitor's way to the init when there is no user namespace: a new (or joined) PID and time namespace
    apply to the next child only, so the monitor sets them and forks the init, which joins and makes the other
    namespaces itself. The monitor stays in the host's namespaces. The init's pid is said on the socket (PID);
    the init speaks only after that."""
    _not_dumpable()
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
            _fail(sock, e)
        _container_init(cfg, sock)
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


def _not_dumpable() -> None:
    """CVE-2019-5736: until it execs the container's program, this process runs the host's interpreter.

    Made non-dumpable, its /proc/<pid>/exe (and mem, fds) cannot be opened by the container's processes,
    which lack CAP_SYS_PTRACE; execve of the container's program makes the new image dumpable again.
    """
    syscalls.prctl(syscalls.PR_SET_DUMPABLE, 0)


def _bootstrap(cfg: InitConfig, sock: _socket.socket, monitor_pipe: int | None) -> NoReturn:
    try:
        _not_dumpable()
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
        _fail(sock, e)


def _container_init(cfg: InitConfig, sock: _socket.socket) -> NoReturn:
    spec, p = cfg.spec, cfg.process
    try:
        os.setsid()
        _setup_stdio(cfg.stdio)
        fifo_fd = cfg.fifo_fd
        csock = None if cfg.console_fd is None else _console_socket(cfg.console_fd)
        keep = {sock.fileno(), fifo_fd} | ({csock.fileno()} if csock else set())
        # No fd of the caller survives into the container (CVE-2024-21626: a leaked host dir as cwd).
        close_fds(keep)
        in_userns = spec.linux.namespace("user") is not None

        def joined() -> None:
            """Wait until the runtime has moved us into the container's cgroups, then make our cgroup
            namespace (rooted there). Until then the runtime's move, which can take a kernel grace period,
            overlaps the mounts."""
            sync.expect(sock, Msg.JOINED, SETUP_TIMEOUT, "the runtime")
            namespaces.unshare(namespaces.new_flags(spec.linux, exclude=[t for t in namespaces.FLAGS if t != "cgroup"]))

        rootfs.prepare(spec, cfg.rootfs, cfg.bundle, in_userns=in_userns, cgroup_sources=cfg.cgroup_sources)
        sync.send(sock, Msg.MOUNTED)
        hooked = bool(spec.hooks.create_runtime or spec.hooks.create_container)
        if hooked:  # the runtime's createRuntime hooks, then ours, see the process in its cgroups
            joined()
            msg = sync.expect(sock, Msg.OK, SETUP_TIMEOUT, "the runtime")
            if spec.hooks.create_container:
                from geedocker.runtime import hooks

                hooks.run_all(spec.hooks.create_container, msg.get("state") or {}, "createContainer")
        rootfs.enter(spec, cfg.rootfs)
        if spec.hostname:
            _set_hostname(spec.hostname)
        if spec.domainname:
            syscalls.setdomainname(spec.domainname)
        _sysctl(spec)
        rootfs.finish(spec)
        available = process.limit_bounding_set(p)  # the effective set stays: the cgroup namespace needs it
        if not hooked:
            joined()  # before _prepare_process drops the capabilities a cgroup namespace needs
        exe, env, late_filter = _prepare_process(p, csock, setgroups_allowed=True, seccomp=spec.linux.seccomp,
                                                 dev_console=True, available=available)
        sync.send(sock, Msg.READY)
        sock.close()
    except BaseException as e:
        _fail(sock, e)
    try:
        state = _wait_start(fifo_fd)
        if spec.hooks.start_container:
            from geedocker.runtime import hooks

            hooks.run_all(spec.hooks.start_container, state, "startContainer")
    except BaseException as e:
        _fail(None, e)
    _exec(exe, p, env, late_filter)


def _console_socket(fd: int) -> socket.socket:
    import socket  # a terminal's only

    return socket.socket(fileno=fd)


def _set_hostname(name: str) -> None:
    try:
        _socket.sethostname(name)
    except OSError as e:  # a name over 64 bytes: EINVAL, which alone would read "Invalid argument"
        hint = f" (a host name has at most 64 bytes, this one {len(name.encode())})" if len(name.encode()) > 64 else ""
        raise ContainerError(f"sethostname {name!r}: {(e.strerror or str(e)).lower()}{hint}") from e


def _sysctl(spec: Spec) -> None:
    for key, setting in spec.linux.sysctl:
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(setting)
        except OSError as e:
            raise ContainerError(f"setting sysctl {key}={setting}: {e.strerror}") from e


def _prepare_process(
    p: Process, csock: socket.socket | None, *, setgroups_allowed: bool, seccomp: Seccomp | None,
    dev_console: bool = False, available: int | None = None,
) -> tuple[str, dict[str, str], Filter | None]:
    """Terminal, limits, user, caps, cwd, executable: everything up to the exec itself.

    The seccomp filter is compiled here; without no_new_privs it is loaded here too (that needs
    CAP_SYS_ADMIN, so before the user switch), else it is returned, to be loaded just before exec."""
    if csock is not None:
        from geedocker.runtime import console

        master, slave = console.open_pty(p.console_size)
        if dev_console:
            console.mount_dev_console(slave)
        console.send_master(csock, master)
        os.close(master)
        csock.close()
        console.make_controlling(slave)
    process.set_oom_score_adj(p)
    process.set_rlimits(p)
    filt = None
    if seccomp is not None:
        from geedocker.runtime.seccomp import Filter  # only when the config has a profile

        filt = Filter(seccomp, set_no_new_privs=False)
    if filt is not None and not p.no_new_privileges:
        filt.load()
        filt = None
    process.set_user_and_capabilities(p, setgroups_allowed=setgroups_allowed, available=available)
    process.set_no_new_privs(p)
    process.change_dir(p.cwd)
    env = p.env_dict()
    return process.find_executable(p.args[0], env), env, filt


def _wait_start(fifo_fd: int) -> dict[str, object]:
    """Block until ``start`` writes the state to exec.fifo and closes it; that state, parsed."""
    poller = select.poll()
    poller.register(fifo_fd, select.POLLIN | select.POLLHUP)
    data = b""
    while True:
        poller.poll()
        try:
            chunk = os.read(fifo_fd, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_START_STATE:
            break
    os.close(fifo_fd)
    try:
        obj = json.loads(data) if data else {}
    except ValueError:
        obj = {}
    return obj if isinstance(obj, dict) else {}


def _exec(exe: str, p: Process, env: dict[str, str], filt: Filter | None) -> NoReturn:
    process.reset_signals()
    if filt is not None:
        try:
            filt.load()
        except BaseException as e:
            _fail(None, e)
    try:
        os.execve(exe, list(p.args), env)
    except OSError as e:
        try:
            os.write(2, f"geedocker-runtime: exec {p.args[0]}: {e.strerror}\n".encode())
        finally:
            os._exit(process.exec_failure_code(e))
    os._exit(127)  # not reached


# ------------------------------------------------------------------------------------------------ exec


@value
class ExecConfig:
    process: Process
    target_pid: int
    namespace_types: tuple[str, ...]
    console_fd: int | None
    stdio: tuple[int | None, int | None, int | None]
    detach: bool
    setgroups_allowed: bool = True
    seccomp: Seccomp | None = None


def exec_chain(cfg: ExecConfig, sock: _socket.socket) -> NoReturn:
    """exec's bootstrap: join the container's namespaces, fork the process, wait for it (unless detached)."""
    try:
        _not_dumpable()
        sync.send(sock, Msg.HELLO, pid=os.getpid())
        sync.expect(sock, Msg.OK, SETUP_TIMEOUT, "the runtime")
        csock = None if cfg.console_fd is None else _console_socket(cfg.console_fd)
        fds: dict[str, int] = {}
        for t in cfg.namespace_types:
            if namespaces.same_namespace(cfg.target_pid, t):
                continue
            name = namespaces.PROC_NAMES[t]
            try:
                fds[t] = os.open(f"/proc/{cfg.target_pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
            except OSError as e:
                raise ContainerError(f"opening the {t} namespace of process {cfg.target_pid}: {e.strerror}") \
                    from e
        namespaces.join(fds)
        if "mount" not in cfg.namespace_types:  # a container in our mount namespace: its init's chroot
            os.chroot(f"/proc/{cfg.target_pid}/root")
            os.chdir("/")
        if "user" in cfg.namespace_types:
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        go_r, go_w = os.pipe()  # the process speaks on the socket only after our PID message
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.read(go_r, 1)
            os.close(go_r)
            _exec_child(cfg, sock, csock)
        os.close(go_r)
        if csock is not None:
            csock.close()
        sync.send(sock, Msg.PID, pid=pid)
        os.close(go_w)
        if cfg.detach:
            os._exit(0)
        sock.close()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        os._exit(exit_status(status))
    except BaseException as e:
        _fail(sock, e)


def _exec_child(cfg: ExecConfig, sock: _socket.socket, csock: socket.socket | None) -> NoReturn:
    try:
        os.setsid()
        _setup_stdio(cfg.stdio)
        keep = {sock.fileno()} | ({csock.fileno()} if csock else set())
        close_fds(keep)
        exe, env, late_filter = _prepare_process(cfg.process, csock, setgroups_allowed=cfg.setgroups_allowed,
                                                 seccomp=cfg.seccomp)
        sync.send(sock, Msg.READY)
        sock.close()
    except BaseException as e:
        _fail(sock, e)
    _exec(exe, cfg.process, env, late_filter)
