"""What every process the runtime forks does first and last: report an error to the runtime and exit
(``fail``), take its stdio, turn non-dumpable, and the process's setup up to and including its ``execve``
(``prepare_process``, ``exec_process``). Shared by the container's init (``runtime.init``) and exec's
process (``runtime.exec_chain``), so neither imports the other.

Errors before exec are sent to the caller over the sync socket (``sync.error_message``).
"""

from __future__ import annotations

import json
import os

from geedocker.runtime import process, sync, syscalls

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import _socket
    import socket
    from typing import NoReturn

    from geedocker.runtime.seccomp import Filter, Seccomp
    from geedocker.runtime.spec_process import Process


def fail(sock: _socket.socket | None, exc: BaseException, code: int = 1) -> NoReturn:
    try:
        if sock is not None:
            sock.send(json.dumps(sync.error_message(exc)).encode())
        else:
            os.write(2, f"geedocker-runtime: {exc}\n".encode())
    except OSError:
        pass
    os._exit(code)


def setup_stdio(stdio: tuple[int | None, int | None, int | None]) -> None:
    tmp = [None if fd is None else os.dup(fd) for fd in stdio]
    for i, t in enumerate(tmp):
        if t is not None:
            os.dup2(t, i)
            os.close(t)


def not_dumpable() -> None:
    """CVE-2019-5736: until it execs the container's program, this process runs the host's interpreter.

    Made non-dumpable, its /proc/<pid>/exe (and mem, fds) cannot be opened by the container's processes,
    which lack CAP_SYS_PTRACE; execve of the container's program makes the new image dumpable again.
    """
    syscalls.prctl(syscalls.PR_SET_DUMPABLE, 0)


def console_socket(fd: int) -> socket.socket:
    import socket  # a terminal's only

    return socket.socket(fileno=fd)


def prepare_process(
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


def exec_process(exe: str, p: Process, env: dict[str, str], filt: Filter | None) -> NoReturn:
    process.reset_signals()
    if filt is not None:
        try:
            filt.load()
        except BaseException as e:
            fail(None, e)
    try:
        os.execve(exe, list(p.args), env)
    except OSError as e:
        try:
            os.write(2, f"geedocker-runtime: exec {p.args[0]}: {e.strerror}\n".encode())
        finally:
            os._exit(process.exec_failure_code(e))
    os._exit(127)  # not reached
