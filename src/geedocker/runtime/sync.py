"""Messages between the runtime and the processes it forks: JSON over a SOCK_SEQPACKET socketpair.

Each message is one datagram ``{"type": Msg.X, ...}``; who sends which, and when, is drawn in
``geedocker.runtime.creation``'s docstring. A child that fails sends
``{"type": "error", "kind": "not_found" | "not_executable" | "error", "message": ...}`` and exits.
"""

from __future__ import annotations

import _socket  # not socket: its enums cost a millisecond of every start
import json
import select

from geedocker.errors import CommandNotExecutable, CommandNotFound, ContainerError

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

MAX_MESSAGE = 1 << 20
SETUP_TIMEOUT = 120.0  # seconds a step of container setup may take (hooks included)


class Msg:
    """The messages' types (plain strings: they travel as JSON)."""

    USERMAP = "usermap"  # bootstrap -> runtime: I made a user namespace, {pid}: write its id maps
    OK = "ok"  # runtime -> child: go on (after the id maps; after createRuntime hooks, with {state})
    PID = "pid"  # monitor or bootstrap -> runtime: the init's {pid} (and the {monitor}'s)
    JOINED = "joined"  # runtime -> init: you are in the container's cgroups (make the cgroup namespace now)
    MOUNTED = "mounted"  # init -> runtime: the mounts are made (createRuntime hooks may run)
    READY = "ready"  # init -> runtime: set up, waiting on exec.fifo (exec: about to exec)
    HELLO = "hello"  # exec's bootstrap -> runtime: its {pid}, before it joins the container's namespaces
    ERROR = "error"  # any child -> runtime: why it failed ({kind}, {message}); it exits after


class SyncError(ContainerError):
    """The other side of the runtime's sync socket died or said something unexpected."""


def pair() -> tuple[_socket.socket, _socket.socket]:
    """A connected pair; neither end is inherited across exec (PEP 446)."""
    return _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)


def send(sock: _socket.socket, type_: str, **fields: Any) -> None:
    """One message. When the other side has already failed and gone, its error message (still queued on the
    socket) is raised, not the "Broken pipe" of this write."""
    try:
        sock.send(json.dumps({"type": type_, **fields}).encode())
    except (BrokenPipeError, ConnectionResetError) as e:
        try:
            while True:  # recv raises the error message the other side left; other messages are skipped
                recv(sock, 0.0, "the other side")
        except (SyncError, OSError):
            raise SyncError(f"the other side exited before {type_!r} could be sent") from e


def recv(sock: _socket.socket, timeout: float | None = None, what: str = "the container's init") -> dict[str, Any]:
    """One message; raises SyncError on EOF or timeout, the matching error for an error message."""
    if timeout is not None:
        r, _, _ = select.select([sock], [], [], timeout)
        if not r:
            raise SyncError(f"timed out after {timeout:.0f}s waiting for {what}")
    try:
        data = sock.recv(MAX_MESSAGE)
    except ConnectionResetError:
        # The other side exited with a message of ours unread: Linux reports that once, before the messages it
        # sent (its error among them), which the next read returns.
        try:
            data = sock.recv(MAX_MESSAGE, _socket.MSG_DONTWAIT)
        except OSError:
            data = b""
    if not data:
        raise SyncError(f"{what} exited during setup")
    try:
        msg = json.loads(data)
    except ValueError as e:
        raise SyncError(f"{what} sent a malformed message") from e
    if not isinstance(msg, dict):
        raise SyncError(f"{what} sent a malformed message")
    if msg.get("type") == Msg.ERROR:
        raise error_from(msg)
    return msg


def expect(sock: _socket.socket, type_: str, timeout: float | None = None, what: str = "the container's init") -> \
        dict[str, Any]:
    msg = recv(sock, timeout, what)
    if msg.get("type") != type_:
        raise SyncError(f"{what} sent {msg.get('type')!r} while {type_!r} was expected")
    return msg


def error_message(exc: BaseException) -> dict[str, Any]:
    kind = "error"
    if isinstance(exc, CommandNotFound):
        kind = "not_found"
    elif isinstance(exc, CommandNotExecutable):
        kind = "not_executable"
    return {"type": Msg.ERROR, "kind": kind, "message": str(exc) or type(exc).__name__}


def error_from(msg: dict[str, Any]) -> ContainerError:
    text = str(msg.get("message", "unknown error"))
    kind = msg.get("kind")
    if kind == "not_found":
        return CommandNotFound(text)
    if kind == "not_executable":
        return CommandNotExecutable(text)
    return ContainerError(text)
