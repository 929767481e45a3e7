"""``/containers/{id}/attach`` and ``/containers/{id}/resize``: a client attached to a container's stdio.

A client that attaches to a container before starting it (``docker run`` does: create, attach, wait, start) gets
the container's stdio itself: the start (``api.container_lifecycle``) forks a child that runs the container
attached, as ``geedocker run`` does, with the client's socket as its terminal (``api.streams``). Attaching to a
container that already runs reaches its monitor's attach socket when it has one (``-i`` or ``-t``: input, output,
detach keys; ``api.monitor_attach``), as ``geedocker attach`` does; any other one's output is followed from its
log.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from geedocker.api import streams
from geedocker.api.container_logs import log_entries
from geedocker.api.container_lookup import current, record, store_of
from geedocker.api.errors import ApiError
from geedocker.api.messages import Hijack, Request, Response
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import event


def pending_attaches(req: Request) -> tuple[threading.Lock, dict[str, PendingAttach]]:
    """The service's clients attached to containers that do not run yet, by container id, and their lock:
    ``attach`` registers one, the start (``api.container_lifecycle``) takes it."""
    st = req.app.state
    with contextlib.suppress(KeyError):
        return st["attach_lock"], st["attaches"]
    st.setdefault("attach_lock", threading.Lock())
    st.setdefault("attaches", {})
    return st["attach_lock"], st["attaches"]


class PendingAttach:
    """A client attached to a container that does not run yet; the start hands it the container's stdio.

    It is registered before the client gets its ``101``: the client starts the container as soon as it has it,
    and the start must find it."""

    def __init__(self, stdin: bool, outputs: tuple[int, ...], keys: bytes) -> None:
        self.stdin = stdin
        self.outputs = outputs
        self.keys = keys  # the detach keys the attaching client asked for (its monitor looks for them)
        self.ready = threading.Event()
        self.child: streams.Child | None = None
        self.tty = False

    def launch(self, req: Request, rec: ContainerRecord) -> None:
        """Start ``rec`` attached in a child with the client's streams; raise why it did not start."""
        from geedocker.containers import lifecycle

        layout = req.layout
        self.tty = rec.options.tty

        def target(started: Any) -> int:
            return lifecycle.start(layout, rec.id, attach=True, on_started=started, detach_keys=self.keys)

        try:
            child = streams.spawn(target, stdin=self.stdin and rec.options.interactive, tty=rec.options.tty)
            child.started()
            self.child = child
        finally:
            self.ready.set()

    def serve(self, sock: socket.socket, tail: bytes) -> None:
        """In the attaching connection's thread: wait for the start, then relay until the container exits."""
        while not self.ready.wait(0.5):
            if _hung_up(sock):
                return
        if self.child is None:
            return  # the start failed: its request says why
        streams.relay(sock, tail, self.child, tty=self.tty, streams=self.outputs)
        self.child.wait()

    def abandon(self) -> None:
        """The client never got its stream: a container started for it writes to no one (its log keeps all)."""
        if self.child is not None:
            self.child.close()


def _hung_up(sock: socket.socket) -> bool:
    import select

    p = select.poll()
    p.register(sock.fileno(), select.POLLHUP | select.POLLERR)
    return any(ev & (select.POLLHUP | select.POLLERR) for _, ev in p.poll(0))


def attach(req: Request) -> Hijack:
    from geedocker.containers import attachment

    rec = record(req)
    outputs = tuple(n for n, name in ((1, "stdout"), (2, "stderr")) if req.flag(name))
    stream = req.flag("stream")
    include_logs = req.flag("logs")
    tty = rec.options.tty
    keys = attachment.parse_detach_keys(req.arg("detachKeys") or attachment.DEFAULT_DETACH_KEYS)  # dockerd: a 400
    lock, table = pending_attaches(req)
    pending: PendingAttach | None = None
    monitor: socket.socket | None = None
    if stream and rec.state.status != Status.RUNNING:
        pending = PendingAttach(req.flag("stdin"), outputs, keys)
        with lock:
            table[rec.id] = pending
    elif stream and (tty or rec.options.interactive):
        # connected before the client gets its stream: the output it sees starts no later than its 101
        monitor = attachment.connect(attachment.socket_path(req.layout, rec.id))

    def forget() -> None:
        with lock:
            if pending is not None and table.get(rec.id) is pending:
                del table[rec.id]

    def cancel() -> None:
        forget()
        if pending is not None:
            pending.abandon()
        if monitor is not None:
            monitor.close()

    def run(sock: socket.socket, tail: bytes) -> None:
        try:
            if include_logs:
                for e in log_entries(req, rec, tail=None, follow=False, since=0, until=0):
                    n = 2 if e.stream == "stderr" else 1
                    if n in outputs:
                        data = e.log.encode("utf-8", "replace")
                        sock.sendall(data if tty else streams.frame(n, data))
            if pending is None:  # a pending one's is logged by the attached start (containers.monitor)
                event(req.layout, rec, "attach")  # as dockerd: after the logs, with a stream or not
            if pending is not None:
                pending.serve(sock, tail)
            elif monitor is not None:
                from geedocker.api import monitor_attach

                if monitor_attach.relay(sock, tail, monitor, stdin=req.flag("stdin") and rec.options.interactive,
                                        tty=tty, outputs=outputs, keys=keys):  # fmt: skip
                    event(req.layout, rec, "detach")  # the client typed the detach keys
            elif stream:
                _follow(req, rec, sock, outputs)
        except OSError:
            return  # the client went away
        finally:
            forget()
            if monitor is not None:
                monitor.close()
            streams.end(sock)

    return Hijack(run, cancel=cancel)


def _follow(req: Request, rec: ContainerRecord, sock: socket.socket, outputs: tuple[int, ...]) -> None:
    """Attach to a running container: its output from now on, from its log."""
    path = store_of(req).log_path(rec.id)
    size = path.stat().st_size if path.exists() else 0
    from geedocker.containers import logs

    def done() -> bool:
        cur = current(req, rec)
        return cur is None or cur.state.status != Status.RUNNING

    for e in logs.follow_entries(path, size, done, poll=0.05):
        n = 2 if e.stream == "stderr" else 1
        if n in outputs:
            data = e.log.encode("utf-8", "replace")
            sock.sendall(data if rec.options.tty else streams.frame(n, data))


def resize(req: Request) -> Response:
    rec = record(req)
    h, w = req.int_arg("h", 0) or 0, req.int_arg("w", 0) or 0
    if rec.state.status != Status.RUNNING:
        raise ApiError(409, f"Container {rec.id} is not running")
    if rec.options.tty and h > 0 and w > 0:
        streams.set_window(rec.state.pid, h, w)
    event(req.layout, rec, "resize", height=str(h), width=str(w))  # as dockerd, for any running container
    return Response(200, b"", content_type="text/plain")


