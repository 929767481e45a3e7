"""``/containers/{id}/exec`` and ``/exec/{id}/...``: exec sessions over ``containers.execute.exec_in``.

An exec session is an object of the API, not of the engine (docker keeps them in its daemon's memory too):
the service holds them while it runs. ``start`` forks a child that runs ``exec_in`` with pipes as its stdio
(``api.streams``); the child's exit status is the command's.
"""

from __future__ import annotations

import secrets
import socket
import threading
from typing import Any

from geedocker.api import streams
from geedocker.api.errors import ApiError
from geedocker.api.messages import Hijack, Request, Response, json_response
from geedocker.containers.engine import Engine
from geedocker.containers.execute import ExecOptions, exec_created
from geedocker.containers.record import Status
from geedocker.errors import ContainerNotFound, GeeDockerError

MAX_SESSIONS = 4096  # finished sessions are dropped oldest first past this


class ExecSession:
    def __init__(self, sid: str, cid: str, opts: ExecOptions, attach: tuple[bool, bool, bool]) -> None:
        self.id = sid
        self.container_id = cid
        self.opts = opts
        self.stdin, self.stdout, self.stderr = attach
        self.running = False
        self.started = False
        self.exit_code: int | None = None
        self.child_pid = 0


def _sessions(req: Request) -> dict[str, ExecSession]:
    st = req.app.state
    with st.setdefault("exec_lock", threading.Lock()):
        return st.setdefault("execs", {})  # type: ignore[no-any-return]


def _session(req: Request) -> ExecSession:
    s = _sessions(req).get(req.params["id"])
    if s is None:
        raise ApiError(404, f"No such exec instance: {req.params['id']}")
    return s


def _strs(v: Any, what: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ApiError(400, f"{what}: a list of strings was expected")
    return tuple(v)


def create(req: Request) -> Response:
    from geedocker.containers.refresh import refresh

    body = req.json()
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    try:
        rec = refresh(req.layout, Engine.of(req.layout).containers.resolve(req.params["id"]))
    except ContainerNotFound as e:
        raise ApiError(404, f"No such container: {req.params['id']}") from e
    if rec.state.status != Status.RUNNING:
        raise ApiError(409, f"Container {rec.id} is not running")
    cmd = _strs(body.get("Cmd"), "Cmd")
    if not cmd:
        raise ApiError(400, "No exec command specified")
    workdir = str(body.get("WorkingDir") or "")
    if workdir and not workdir.startswith("/"):
        raise ApiError(400, f"the working directory {workdir!r} is invalid, it needs to be an absolute path")
    sid = secrets.token_hex(32)  # the exec's id, also in its events (as dockerd's)
    opts = ExecOptions(args=cmd, interactive=bool(body.get("AttachStdin")), tty=bool(body.get("Tty")),
                       env=_strs(body.get("Env"), "Env"), workdir=workdir, user=str(body.get("User") or ""),
                       privileged=bool(body.get("Privileged")), exec_id=sid)  # fmt: skip
    table = _sessions(req)
    if len(table) >= MAX_SESSIONS:
        for old in [k for k, s in table.items() if not s.running][: len(table) // 2]:
            table.pop(old, None)
    attach = (bool(body.get("AttachStdin")), body.get("AttachStdout") is not False,
              body.get("AttachStderr") is not False)
    table[sid] = ExecSession(sid, rec.id, opts, attach)
    exec_created(req.layout, rec, opts.args, sid)  # dockerd logs it when the exec is made, not when it starts
    return json_response({"Id": sid}, 201)


def _target(req: Request, s: ExecSession, detach: bool) -> Any:
    from geedocker.containers.execute import exec_in
    from geedocker.values import replace

    layout = req.layout
    opts = replace(s.opts, detach=detach)

    def run(started: Any) -> int:
        started()
        try:
            return exec_in(layout, s.container_id, opts)
        except GeeDockerError as e:  # as docker: the error on the stream, the status of the command
            import sys

            print(f"OCI runtime exec failed: {e}", file=sys.stderr, flush=True)
            return e.exit_code

    return run


def start(req: Request) -> Response | Hijack:
    s = _session(req)
    body = req.json(required=False) or {}
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    if s.started:
        raise ApiError(409, f"exec {s.id} has already been started")
    rec = Engine.of(req.layout).containers.resolve(s.container_id)
    if rec.state.status != Status.RUNNING:
        raise ApiError(409, f"Container {rec.id} is not running")
    s.started = True
    tty = s.opts.tty
    if body.get("Detach"):
        child = streams.spawn(_target(req, s, True), stdin=False, tty=False)
        child.close()
        s.exit_code = child.wait()
        return Response(200, b"", content_type="application/json")
    s.running = True
    outputs = tuple(n for n, on in ((1, s.stdout), (2, s.stderr)) if on)

    def run(sock: socket.socket, tail: bytes) -> None:
        try:
            child = streams.spawn(_target(req, s, False), stdin=s.stdin, tty=tty)
            s.child_pid = child.pid
            child.started()
            streams.relay(sock, tail, child, tty=tty, streams=outputs)
            s.exit_code = child.wait()  # before the stream ends: the client inspects the exec right after
        finally:
            s.running = False
            streams.end(sock)

    return Hijack(run)


def inspect(req: Request) -> Response:
    s = _session(req)
    return json_response({
        "ID": s.id,
        "Running": s.running,
        "ExitCode": s.exit_code,
        "ProcessConfig": {"tty": s.opts.tty, "entrypoint": s.opts.args[0], "arguments": list(s.opts.args[1:]),
                          "privileged": s.opts.privileged, "user": s.opts.user},  # fmt: skip
        "OpenStdin": s.stdin,
        "OpenStderr": s.stderr,
        "OpenStdout": s.stdout,
        "CanRemove": False,
        "ContainerID": s.container_id,
        "DetachKeys": "",
        "Pid": s.child_pid,
    })


def resize(req: Request) -> Response:
    s = _session(req)
    h, w = req.int_arg("h", 0) or 0, req.int_arg("w", 0) or 0
    if not s.running:
        raise ApiError(409, f"exec {s.id} is not running")
    if s.opts.tty and h > 0 and w > 0:
        for pid in streams.children_of(s.child_pid):  # the exec'd process, adopted by the child (a subreaper)
            streams.set_window(pid, h, w)
    return Response(200, b"", content_type="text/plain")
