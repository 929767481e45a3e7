"""The container's init: pid 1 of its PID namespace, forked by the create chain (``runtime.create_chain``).
Nothing here returns: it ends in ``os._exit`` or ``execve``.

It mounts the rootfs (its cgroup dirs as bind mounts), pivots into it, sets the hostname, sysctls and masked
paths, joins its cgroup namespace once the runtime says JOINED (before pivot_root when there are createRuntime
or createContainer hooks: they see it in its cgroups), then sets up the process (pty, user, caps, cwd, the
executable), says READY, waits on exec.fifo for ``start``, runs the startContainer hooks, and execs. The
messages it exchanges with the runtime are drawn in ``geedocker.runtime.creation``'s docstring.
"""

from __future__ import annotations

import _socket  # not socket: its enums cost a millisecond of every start
import json
import os
import select

from geedocker.errors import ContainerError
from geedocker.procs import close_fds
from geedocker.runtime import namespaces, process, rootfs, sync, syscalls
from geedocker.runtime.forked import console_socket, exec_process, fail, prepare_process, setup_stdio
from geedocker.runtime.spec import Spec
from geedocker.runtime.spec_process import Process
from geedocker.runtime.sync import SETUP_TIMEOUT, Msg
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import NoReturn

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


def container_init(cfg: InitConfig, sock: _socket.socket) -> NoReturn:
    spec, p = cfg.spec, cfg.process
    try:
        os.setsid()
        setup_stdio(cfg.stdio)
        fifo_fd = cfg.fifo_fd
        csock = None if cfg.console_fd is None else console_socket(cfg.console_fd)
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
            joined()  # before prepare_process drops the capabilities a cgroup namespace needs
        exe, env, late_filter = prepare_process(p, csock, setgroups_allowed=True, seccomp=spec.linux.seccomp,
                                                dev_console=True, available=available)
        sync.send(sock, Msg.READY)
        sock.close()
    except BaseException as e:
        fail(sock, e)
    try:
        state = _wait_start(fifo_fd)
        if spec.hooks.start_container:
            from geedocker.runtime import hooks

            hooks.run_all(spec.hooks.start_container, state, "startContainer")
    except BaseException as e:
        fail(None, e)
    exec_process(exe, p, env, late_filter)


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
