"""``exec``'s processes: the runtime's child enters at ``exec_chain``. Nothing here returns: each path ends in
``os._exit`` or ``execve``. The runtime's side is ``runtime.container.exec_``.

``exec``::

    runtime --fork--> exec's bootstrap: joins the container's namespaces --fork--> the process: set up, execs
                      the bootstrap waits for the process and exits with its status (at once with ``detach``)

Errors before exec are sent to the caller over the sync socket (``sync.error_message``).
"""

from __future__ import annotations

import os

from geedocker.errors import ContainerError
from geedocker.procs import close_fds
from geedocker.runtime import namespaces, sync
from geedocker.runtime.forked import console_socket, exec_process, fail, not_dumpable, prepare_process, setup_stdio
from geedocker.runtime.spec_process import Process
from geedocker.runtime.status import exit_status
from geedocker.runtime.sync import SETUP_TIMEOUT, Msg
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import _socket
    import socket
    from typing import NoReturn

    from geedocker.runtime.seccomp import Seccomp


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
        not_dumpable()
        sync.send(sock, Msg.HELLO, pid=os.getpid())
        sync.expect(sock, Msg.OK, SETUP_TIMEOUT, "the runtime")
        csock = None if cfg.console_fd is None else console_socket(cfg.console_fd)
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
        fail(sock, e)


def _exec_child(cfg: ExecConfig, sock: _socket.socket, csock: socket.socket | None) -> NoReturn:
    try:
        os.setsid()
        setup_stdio(cfg.stdio)
        keep = {sock.fileno()} | ({csock.fileno()} if csock else set())
        close_fds(keep)
        exe, env, late_filter = prepare_process(cfg.process, csock, setgroups_allowed=cfg.setgroups_allowed,
                                                seccomp=cfg.seccomp)
        sync.send(sock, Msg.READY)
        sock.close()
    except BaseException as e:
        fail(sock, e)
    exec_process(exe, cfg.process, env, late_filter)
