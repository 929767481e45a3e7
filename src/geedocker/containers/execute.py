"""``exec``: run another process in a running container (its namespaces and cgroup, via the runtime)."""

from __future__ import annotations

import contextlib
import json
import os
import signal

from geedocker.containers.backend import set_subreaper, wait_pid
from geedocker.containers.engine import Engine
from geedocker.containers.plan import merge_env
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.refresh import refresh
from geedocker.containers.store import event
from geedocker.containers.users import resolve_user_in_rootfs
from geedocker.errors import ContainerStateError, GeeDockerError, UsageError
from geedocker.procs import write_all
from geedocker.store.layout import Layout
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from typing import Any


@value
class ExecOptions:
    args: tuple[str, ...]
    interactive: bool = False
    tty: bool = False
    env: tuple[str, ...] = ()
    workdir: str = ""
    user: str = ""
    detach: bool = False
    privileged: bool = False
    exec_id: str = ""  # the exec's id in its events (the API's session id); "" makes one


def exec_process(layout: Layout, ref: str, eo: ExecOptions) -> tuple[str, dict[str, Any]]:
    """The container's id and the runtime-spec ``process`` for ``eo`` (based on the container's own)."""
    if not eo.args:
        raise UsageError("exec needs a command")
    store = Engine.of(layout).containers
    rec = refresh(layout, store.resolve(ref))
    if rec.state.status != Status.RUNNING:
        raise ContainerStateError(f"container {rec.id} is not running")
    if store.is_paused(rec):
        from geedocker.containers.control import DaemonError  # here: only a paused container needs it

        raise DaemonError(f"Container {rec.id} is paused, unpause the container before exec")
    spec = json.loads((store.bundle(rec.id) / "config.json").read_bytes())
    base: dict[str, Any] = dict(spec["process"])
    proc: dict[str, Any] = {
        "terminal": eo.tty,
        "args": list(eo.args),
        "env": merge_env(base.get("env", []), eo.env),
        "cwd": eo.workdir or base.get("cwd", "/"),
        "user": base.get("user", {"uid": 0, "gid": 0}),
        "capabilities": base.get("capabilities", {}),
        "noNewPrivileges": base.get("noNewPrivileges", False),
    }
    if eo.tty and not any(e.startswith("TERM=") for e in proc["env"]):
        proc["env"].append("TERM=xterm")
    if eo.user:
        u = resolve_user_in_rootfs(store.rootfs(rec.id), eo.user)
        proc["user"] = {"uid": u.uid, "gid": u.gid}
        if u.additional_gids:
            proc["user"]["additionalGids"] = list(u.additional_gids)
    if eo.workdir and not eo.workdir.startswith("/"):
        raise UsageError(f"the working directory {eo.workdir!r} is invalid, it needs to be an absolute path")
    return rec.id, proc


def exec_in(layout: Layout, ref: str, eo: ExecOptions) -> int:
    """Run ``eo.args`` in the container; its exit status (0 with ``detach``). The journal gets docker's
    ``exec_create``, ``exec_start`` and (unless detached: no one waits for it) ``exec_die`` events."""
    cid, proc = exec_process(layout, ref, eo)
    rec = Engine.of(layout).containers.load(cid)
    exec_id = eo.exec_id
    if not exec_id:  # one made here: its creation is now (the API logs it when its session is made)
        exec_id = os.urandom(32).hex()
        exec_created(layout, rec, eo.args, exec_id)
    event(layout, rec, f"exec_start: {_action_text(eo.args)}", execID=exec_id)
    try:
        code = _exec(layout, rec, cid, proc, eo)
    except GeeDockerError as e:  # it did not run (no such command, ...): docker's exec_die has the status too
        event(layout, rec, "exec_die", execID=exec_id, exitCode=str(e.exit_code))
        raise
    if not eo.detach:
        event(layout, rec, "exec_die", execID=exec_id, exitCode=str(code))
    return code


def exec_created(layout: Layout, rec: ContainerRecord, args: tuple[str, ...], exec_id: str) -> None:
    """docker's ``exec_create`` event for an exec of ``args`` made with id ``exec_id``."""
    event(layout, rec, f"exec_create: {_action_text(args)}", execID=exec_id)


def _action_text(args: tuple[str, ...]) -> str:
    """docker's action text: the command after the colon, its first word then the rest (a lone word keeps the
    space)."""
    return f"{args[0]} {' '.join(args[1:])}"


def _exec(layout: Layout, rec: ContainerRecord, cid: str, proc: dict[str, Any], eo: ExecOptions) -> int:
    backend = Engine.of(layout).backend(rec.runtime or None)
    stdin = 0 if eo.interactive else os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if eo.detach:
            null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            try:
                set_subreaper()
                pid = backend.exec_(cid, {**proc, "terminal": False}, stdin=null, stdout=null, stderr=null,
                                    console_socket=None, detach=True)  # fmt: skip
            finally:
                os.close(null)
            return 0 if pid > 0 else 125
        if not eo.tty:
            return _exec_piped(backend, cid, proc, eo.interactive)
        from geedocker.containers.console import ConsoleSocket  # socket: only an exec with a terminal

        set_subreaper()
        with contextlib.suppress(OSError):  # the pty is made at our size: the command may ask for it at once
            size = os.get_terminal_size(0)
            proc["consoleSize"] = {"height": size.lines, "width": size.columns}
        sock = ConsoleSocket(layout.run / f"exec-{cid[:12]}-{os.getpid()}.sock")
        try:
            pid = backend.exec_(cid, proc, stdin=stdin, stdout=1, stderr=2, console_socket=sock.path)
            master = sock.receive()
        finally:
            sock.close()
        return _relay_tty(master, pid, eo.interactive)
    finally:
        if stdin != 0:
            os.close(stdin)


def _exec_piped(backend: Any, cid: str, proc: dict[str, Any], interactive: bool) -> int:
    """Run the process on pipes that we relay to our own stdio (as docker's daemon does), never on our own file
    descriptors: a process it leaves behind in the container must not keep our terminal (or whatever our
    stdio is) to read or write. The relay ends when the process exits; what a leftover writes later goes
    nowhere."""
    import selectors

    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    in_r, in_w = os.pipe2(os.O_CLOEXEC) if interactive else (os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC), -1)
    try:
        set_subreaper()
        pid = backend.exec_(cid, {**proc, "terminal": False}, stdin=in_r, stdout=out_w, stderr=err_w,
                            console_socket=None, detach=True)
    except BaseException:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
        raise
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    try:
        exited = os.pidfd_open(pid)
    except OSError:  # no pidfd (an old kernel): the relay ends when both streams do
        exited = -1
    sel = selectors.DefaultSelector()
    sel.register(out_r, selectors.EVENT_READ, 1)
    sel.register(err_r, selectors.EVENT_READ, 2)
    if exited >= 0:
        sel.register(exited, selectors.EVENT_READ, "exit")
    if interactive:
        sel.register(0, selectors.EVENT_READ, "in")
    streams = 2
    try:
        while streams:
            for key, _ in sel.select():
                if key.data == "exit":
                    for fd, to in ((out_r, 1), (err_r, 2)):  # what it wrote before it exited
                        os.set_blocking(fd, False)
                        _copy(fd, to, limit=1 << 20)
                    streams = 0
                    break
                if key.data == "in":
                    data = _read(0)
                    try:
                        if data:
                            write_all(in_w, data)
                            continue
                    except OSError:
                        pass  # the process closed its stdin
                    sel.unregister(0)
                    os.close(in_w)
                    in_w = -1
                    continue
                if not _copy(int(key.fd), key.data, limit=65536):
                    sel.unregister(key.fd)
                    streams -= 1
    finally:
        sel.close()
        for fd in (out_r, err_r, in_w, exited):
            if fd >= 0:
                os.close(fd)
    return wait_pid(pid)


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        raise  # a drained non-blocking pipe: the caller stops there
    except OSError:  # EIO from a terminal that went away, ...: an end of input
        return b""


def _copy(src: int, dst: int, *, limit: int) -> bool:
    """Up to ``limit`` bytes from ``src`` to ``dst``; False at the end of ``src`` (or when it would block)."""
    copied = 0
    while copied < limit:
        try:
            data = _read(src)
        except BlockingIOError:
            return False
        if not data:
            return False
        copied += len(data)
        with contextlib.suppress(OSError):  # our own stdout gone: the rest is dropped
            write_all(dst, data)
        if limit <= 65536:
            break
    return True


def _relay_tty(master: int, pid: int, interactive: bool) -> int:
    import fcntl
    import selectors
    import termios

    from geedocker.containers.console import raw_mode

    def resize(*_: object) -> None:
        with contextlib.suppress(OSError):
            fcntl.ioctl(master, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))

    saved = None
    if os.isatty(0):
        resize()
        signal.signal(signal.SIGWINCH, resize)
        if interactive:
            saved = raw_mode(0)
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ, "out")
    if interactive:
        sel.register(0, selectors.EVENT_READ, "in")
    try:
        done = False
        while not done:
            for key, _ in sel.select():
                try:
                    data = os.read(int(key.fd), 65536)
                except OSError:
                    data = b""
                if key.data == "in":
                    if not data:
                        sel.unregister(0)
                    else:
                        os.write(master, data)
                elif not data:
                    done = True
                else:
                    os.write(1, data)
    finally:
        sel.close()
        os.close(master)
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
    return wait_pid(pid)
