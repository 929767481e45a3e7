"""Hijacked streams: an engine function run in a forked child whose stdio is pipes, relayed to a client's socket.

``geedocker run`` and ``geedocker exec`` own a container's stdio through the process's fds 0, 1 and 2
(``containers.monitor.run_attached``, ``containers.execute.exec_in``). The API reuses them unchanged: a child
forked for one request gets pipes as its stdio and calls them; the connection's thread copies the client's bytes
to the stdin pipe and the output pipes to the client, in docker's framing (an 8-byte header per chunk: stream
1 or 2, three zero bytes, the length big-endian) unless the container has a TTY (raw bytes). The child starts a
session of its own, so a container it supervises outlives the service, as a detached container's monitor does.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import select
import socket
import struct
import sys
from collections.abc import Callable

from geedocker.errors import ContainerError, GeeDockerError
from geedocker.logger import get_logger
from geedocker.procs import release_fds

log = get_logger(__name__)

STDOUT, STDERR = 1, 2
READ_SIZE = 65536


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


class Child:
    """A forked child running an engine function with pipes as its stdio."""

    def __init__(self, pid: int, stdin_w: int | None, outputs: dict[int, int], report_r: int) -> None:
        self.pid = pid
        self.stdin_w = stdin_w
        self.outputs = outputs  # read end -> stream number (1 stdout, 2 stderr)
        self._report_r = report_r
        self.exit_code: int | None = None

    def started(self) -> None:
        """Block until the child says it started its work; raise its error if it failed."""
        # One line, not up to EOF: a monitor forked by the child's work may hold the pipe's write end for the
        # container's whole life.
        with os.fdopen(self._report_r, "rb") as f:
            data = f.readline(1024 * 1024).rstrip(b"\n")
        if data == b"ok":
            return
        try:
            msg = json.loads(data)
        except ValueError:
            self.close()
            msg = {"error": f"the process serving the stream died before starting (status {self.wait()})",
                   "exit_code": 125}  # fmt: skip
        self.close()
        self.wait()
        err = ContainerError(str(msg.get("error")))
        err.exit_code = int(msg.get("exit_code", 125))
        raise err

    def wait(self) -> int:
        if self.exit_code is None:
            from geedocker.containers.backend import wait_pid

            self.exit_code = wait_pid(self.pid)
        return self.exit_code

    def close(self) -> None:
        for fd in [*self.outputs, *([self.stdin_w] if self.stdin_w is not None else [])]:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.outputs = {}
        self.stdin_w = None


def spawn(target: Callable[[Callable[[], None]], int], *, stdin: bool, tty: bool) -> Child:
    """Fork a child that runs ``target(started)`` with pipes as fds 0-2 and exits with its result.

    ``target`` calls ``started()`` once its work runs; an exception before that is reported to ``Child.started``.
    With ``tty`` stdout and stderr are one pipe (a terminal has one output)."""
    in_r, in_w = os.pipe() if stdin else (os.open(os.devnull, os.O_RDONLY), None)
    out_r, out_w = os.pipe()
    err_r, err_w = (out_r, out_w) if tty else os.pipe()
    rep_r, rep_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked child
        _child(target, in_r, out_w, err_w, rep_w)
    os.close(in_r)
    os.close(out_w)
    if err_w != out_w:
        os.close(err_w)
    os.close(rep_w)
    outputs = {out_r: STDOUT} if tty else {out_r: STDOUT, err_r: STDERR}
    for fd in [*outputs, *([in_w] if in_w is not None else [])]:
        os.set_inheritable(fd, False)
    return Child(pid, in_w, outputs, rep_r)


def _child(target: Callable[[Callable[[], None]], int], stdin: int, stdout: int, stderr: int,
           report: int) -> None:  # pragma: no cover - runs in the forked child
    code = 125
    try:
        os.setsid()  # the service's signals (its terminal's ^C) are not the container's
        os.dup2(stdin, 0)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        # The service's listening socket, other clients' connections and other children's pipes are not ours:
        # holding a pipe's write end would keep another stream from ending.
        release_fds({report})
        sys.stdout = os.fdopen(1, "w", closefd=False)
        sys.stderr = os.fdopen(2, "w", closefd=False)
        done = False

        def say(data: bytes) -> None:
            nonlocal done
            if not done:
                done = True
                os.write(report, data + b"\n")
                os.close(report)

        try:
            code = target(lambda: say(b"ok"))
        except GeeDockerError as e:
            say(json.dumps({"error": str(e), "exit_code": e.exit_code}).encode())
            code = e.exit_code
        except BaseException as e:  # noqa: BLE001 - reported to the request that forked us
            say(json.dumps({"error": f"{type(e).__name__}: {e}", "exit_code": 125}).encode())
        say(b"ok")
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
        os._exit(code & 0xFF)


def relay(sock: socket.socket, tail: bytes, child: Child, *, tty: bool, streams: tuple[int, ...] = (1, 2)) -> None:
    """Copy the client's bytes to the child's stdin and its output (the ``streams`` it asked for) to the
    client until the output ends; the caller ends the stream (``end``) once it knows the exit status.

    A client that goes away is not waited for: the output is read and dropped, so the container never
    blocks on a full pipe."""
    fd = sock.fileno()
    client_ok = True
    if child.stdin_w is not None and tail:
        _write(child.stdin_w, tail)
    poller = select.poll()
    for out in child.outputs:
        poller.register(out, select.POLLIN)
    if child.stdin_w is not None:
        poller.register(fd, select.POLLIN)
    open_outputs = set(child.outputs)
    try:
        while open_outputs:
            try:
                events = poller.poll()
            except InterruptedError:
                continue
            for efd, _ in events:
                if efd == fd:
                    try:
                        data = sock.recv(READ_SIZE)
                    except OSError:
                        data = b""
                    if not data or child.stdin_w is None:
                        poller.unregister(fd)
                        if child.stdin_w is not None:
                            os.close(child.stdin_w)  # the client closed its stdin: so does the container's
                            child.stdin_w = None
                        continue
                    if not _write(child.stdin_w, data):
                        poller.unregister(fd)
                    continue
                try:
                    data = os.read(efd, READ_SIZE)
                except OSError as e:
                    if e.errno == errno.EINTR:
                        continue
                    data = b""
                if not data:
                    poller.unregister(efd)
                    open_outputs.discard(efd)
                    continue
                if client_ok and (tty or child.outputs[efd] in streams):
                    try:
                        sock.sendall(data if tty else frame(child.outputs[efd], data))
                    except OSError:
                        client_ok = False
                        log.debug("client of a hijacked stream went away; dropping the output")
    finally:
        child.close()


def end(sock: socket.socket) -> None:
    """End a hijacked stream: the client reads EOF."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def _write(fd: int, data: bytes) -> bool:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError:
            return False  # the container closed its stdin
        view = view[n:]
    return True


def set_window(pid: int, height: int, width: int) -> bool:
    """Set the size of the terminal that process ``pid`` has as stdin (its pty's other end): the kernel tells
    its foreground process group with SIGWINCH. False when it has none."""
    import fcntl
    import termios

    try:
        fd = os.open(f"/proc/{pid}/fd/0", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not os.isatty(fd):
            return False
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def children_of(pid: int) -> list[int]:
    try:
        text = open(f"/proc/{pid}/task/{pid}/children").read()
    except OSError:
        return []
    return [int(x) for x in text.split()]
