"""``/containers/...``: thin handlers over ``geedocker.containers`` (the same functions as the CLI's commands).

Attach: a client that attaches to a container before starting it (``docker run`` does: create, attach, wait,
start) gets the container's stdio itself: the start forks a child that runs the container attached, as
``geedocker run`` does, with the client's socket as its terminal (``api.streams``). Attaching to a container
that already runs reaches its monitor's attach socket when it has one (``-i`` or ``-t``: input, output, detach
keys; ``api.monitor_attach``), as ``geedocker attach`` does; any other one's output is followed from its log.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from geedocker.api import streams
from geedocker.api.errors import ApiError
from geedocker.api.filters import filters_arg
from geedocker.api.server import Hijack, Request, Response, json_response, no_content
from geedocker.containers.engine import Engine
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import ContainerStore
from geedocker.errors import ContainerNotFound, GeeDockerError

_FILTERS = {"id", "name", "label", "status", "ancestor", "exited", "network", "before", "since", "health",
            "isolation", "volume", "expose", "publish", "is-task"}  # fmt: skip


def _store(req: Request) -> ContainerStore:
    return Engine.of(req.layout).containers


def _rec(req: Request) -> ContainerRecord:
    from geedocker.containers.refresh import refresh

    try:
        return refresh(req.layout, _store(req).resolve(req.params["id"]))
    except ContainerNotFound as e:
        raise ApiError(404, f"No such container: {req.params['id']}") from e


def _running(req: Request, rec: ContainerRecord) -> ContainerRecord | None:
    """The current record of ``rec`` (None once it is removed)."""
    from geedocker.containers.refresh import refresh

    try:
        return refresh(req.layout, _store(req).load(rec.id))
    except GeeDockerError:
        return None


# ---------------------------------------------------------------- create, list, inspect, remove


def create(req: Request) -> Response:
    from geedocker.api.create import options_from_body
    from geedocker.containers import images
    from geedocker.containers.create import create as create_container

    body = req.json()
    image, opts = options_from_body(body, req.arg("name"))
    platform = req.arg("platform")  # --platform: that variant of the image (docker's clients pull it on a 404)
    if platform:
        from geedocker.oci import Platform

        try:
            Platform.parse(platform)
        except GeeDockerError as e:
            raise ApiError(400, str(e)) from e
    source = images.from_image(req.layout, image, pull="never", platform=platform)
    # The rootfs stays mounted for the start that docker's clients send next (remove unmounts it); mounting it
    # again would also refuse an auto-removed container's volatile overlay, whose work dir marks the first mount.
    rec = create_container(req.layout, source, opts)
    return json_response({"Id": rec.id, "Warnings": []}, 201)


def _matches(rec: ContainerRecord, f: dict[str, list[str]]) -> bool:
    labels = dict(rec.options.labels)
    for key, values in f.items():
        if not values:
            continue
        if key == "id" and not any(rec.id.startswith(v) for v in values):
            return False
        if key == "name" and not any(v.lstrip("/") in rec.name for v in values):
            return False
        if key == "status" and rec.state.status.value not in values:
            return False
        if key == "exited" and not (rec.state.status == Status.EXITED and str(rec.state.exit_code) in values):
            return False
        if key == "ancestor" and not any(v in (rec.image, rec.image_id) or rec.image_id.removeprefix(
                "sha256:").startswith(v) or rec.image.startswith(v + ":") for v in values):  # fmt: skip
            return False
        if key == "network" and rec.options.network not in values:
            return False
        if key == "label":
            for v in values:
                k, eq, val = v.partition("=")
                if k not in labels or (eq and labels[k] != val):
                    return False
    return True


def _list_entry(req: Request, rec: ContainerRecord, now: float) -> dict[str, Any]:
    from geedocker import network
    from geedocker.containers.ps import status_text
    from geedocker.timefmt import parse_rfc3339

    t = parse_rfc3339(rec.created)
    settings = network.describe(req.layout, rec.id, rec.options.network)
    ports = []
    for key, binds in (settings.get("Ports") or {}).items():
        port, _, proto = key.partition("/")
        for b in binds or [None]:
            p: dict[str, Any] = {"PrivatePort": int(port), "Type": proto}
            if b:
                p.update(IP=b.get("HostIp") or "0.0.0.0", PublicPort=int(b.get("HostPort") or 0))
            ports.append(p)
    return {
        "Id": rec.id,
        "Names": ["/" + rec.name],
        "Image": rec.image or rec.image_id,
        "ImageID": rec.image_id,
        "Command": " ".join(rec.args),
        "Created": int(t.timestamp()) if t else 0,
        "Ports": ports,
        "Labels": dict(rec.options.labels),
        "State": rec.state.status.value,
        "Status": status_text(rec, now),
        "HostConfig": {"NetworkMode": rec.options.network},
        "NetworkSettings": {"Networks": settings.get("Networks") or {}},
        "Mounts": [{"Type": m.type, "Source": m.source, "Destination": m.target, "Mode": "ro" if m.readonly else "",
                    "RW": not m.readonly, "Propagation": ""} for m in rec.options.mounts],  # fmt: skip
    }


def list_(req: Request) -> Response:
    from geedocker.containers.refresh import refresh

    f = filters_arg(req, _FILTERS)
    show_all = req.flag("all")
    limit = req.int_arg("limit", -1) or -1
    now = time.time()
    recs = []
    for rec in _store(req).list():
        try:
            rec = refresh(req.layout, rec)
        except GeeDockerError:
            continue
        if not show_all and rec.state.status != Status.RUNNING and "status" not in f and "exited" not in f:
            continue
        if _matches(rec, f):
            recs.append(rec)
    recs.sort(key=lambda r: r.created, reverse=True)
    if limit > 0:
        recs = recs[:limit]
    return json_response([_list_entry(req, r, now) for r in recs])


def inspect(req: Request) -> Response:
    from geedocker.containers.inspect import inspect_container

    try:
        d = inspect_container(req.layout, req.params["id"])
    except ContainerNotFound as e:
        raise ApiError(404, f"No such container: {req.params['id']}") from e
    # keys docker's clients index without looking (docker-py reads HostConfig.LogConfig.Type after a run)
    host = d.setdefault("HostConfig", {})
    host.setdefault("LogConfig", {"Type": "json-file", "Config": {}})
    host.setdefault("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0})
    host.setdefault("PortBindings", _port_bindings(d))
    host.setdefault("VolumesFrom", None)
    host.setdefault("Links", None)
    d.setdefault("Config", {}).setdefault("ExposedPorts", None)
    d["Config"].setdefault("Volumes", None)
    return json_response(d)


def _port_bindings(d: dict[str, Any]) -> dict[str, Any]:
    ports = (d.get("NetworkSettings") or {}).get("Ports") or {}
    return {k: v for k, v in ports.items() if v}


def remove(req: Request) -> Response:
    from geedocker.containers import removal

    rec = _rec(req)
    if req.flag("link"):
        raise ApiError(400, "links are not supported by geedocker")
    removal.remove(req.layout, rec.id, force=req.flag("force"), volumes=req.flag("v"))
    return no_content()


def prune(req: Request) -> Response:
    from geedocker.containers import prune

    pruned = prune.containers(req.layout, filters_arg(req))
    return json_response({"ContainersDeleted": list(pruned.deleted) or None, "SpaceReclaimed": pruned.reclaimed})


# ---------------------------------------------------------------- start, stop, kill, restart, wait


def _attaches(req: Request) -> tuple[threading.Lock, dict[str, PendingAttach]]:
    st = req.app.state
    with contextlib.suppress(KeyError):
        return st["attach_lock"], st["attaches"]
    st.setdefault("attach_lock", threading.Lock())
    st.setdefault("attaches", {})
    return st["attach_lock"], st["attaches"]


def start(req: Request) -> Response:
    from geedocker.containers import lifecycle

    rec = _rec(req)
    if rec.state.status == Status.RUNNING:
        return Response(304, b"", content_type="")
    lock, pending = _attaches(req)
    with lock:
        attach = pending.pop(rec.id, None)
    if attach is not None:
        attach.launch(req, rec)
    else:
        lifecycle.start(req.layout, rec.id)
    return no_content()


def stop(req: Request) -> Response:
    from geedocker.containers import lifecycle

    rec = _rec(req)
    if rec.state.status != Status.RUNNING:
        return Response(304, b"", content_type="")
    lifecycle.stop(req.layout, rec.id, req.int_arg("t"))
    return no_content()


def kill(req: Request) -> Response:
    from geedocker.containers import lifecycle
    from geedocker.containers.flags import parse_signal

    rec = _rec(req)
    sig = parse_signal(req.arg("signal", "KILL"))
    if rec.state.status != Status.RUNNING:
        raise ApiError(409, f"Container {rec.id} is not running")
    lifecycle.kill(req.layout, rec.id, sig)
    return no_content()


def restart(req: Request) -> Response:
    from geedocker.containers import lifecycle

    rec = _rec(req)
    lifecycle.stop(req.layout, rec.id, req.int_arg("t"))
    lifecycle.start(req.layout, rec.id)
    return no_content()


def wait(req: Request) -> Response:
    condition = req.arg("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise ApiError(400, f"invalid condition {condition!r}")
    rec = _rec(req)
    store = _store(req)

    def result() -> Iterator[bytes]:
        import json

        code, err = _wait(req, store, rec, condition)
        yield json.dumps({"StatusCode": code, "Error": {"Message": err} if err else None}).encode() + b"\n"

    return Response(200, result())  # the headers go at once: docker's clients wait for them before starting


def _wait(req: Request, store: ContainerStore, first: ContainerRecord, condition: str) -> tuple[int, str]:
    delay = 0.005
    started0 = first.state.started_at
    was_running = first.state.status == Status.RUNNING
    last = first
    while True:
        cur = _running(req, first)
        if cur is None:  # removed: an auto-removed container leaves its exit code behind
            try:
                return int(store.exit_file(first.id).read_text().strip()), ""
            except (OSError, ValueError):
                return last.state.exit_code, ""
        last = cur
        st = cur.state
        stopped = st.status != Status.RUNNING
        if condition == "not-running" and stopped:
            return st.exit_code, ""
        if condition == "next-exit" and stopped and (was_running or (st.started_at and st.started_at != started0)
                                                     or (st.status == Status.CREATED and st.error)):  # fmt: skip
            return st.exit_code, st.error
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


# ---------------------------------------------------------------- logs, attach, resize


def _log_entries(req: Request, rec: ContainerRecord, *, tail: int | None, follow: bool,
                 since: float, until: float) -> Iterator[Any]:  # fmt: skip
    from geedocker.containers import logs
    from geedocker.timefmt import parse_rfc3339

    path = _store(req).log_path(rec.id)
    size = path.stat().st_size if path.exists() else 0

    def in_range(e: Any) -> bool:
        if not since and not until:
            return True
        t = parse_rfc3339(e.time)
        ts = t.timestamp() if t else 0.0
        return ts >= since and (not until or ts <= until)

    if tail != 0:
        yield from (e for e in logs.read_entries(path, tail) if in_range(e))
    if not follow:
        return

    def done() -> bool:
        cur = _running(req, rec)
        return cur is None or cur.state.status != Status.RUNNING or (until > 0 and time.time() > until)

    if not path.exists():
        if done():
            return
        path.touch()
    cur = os.stat(path).st_size
    yield from (e for e in logs.follow_entries(path, size if cur >= size else 0, done, poll=0.05) if in_range(e))


def _since(text: str) -> float:
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise ApiError(400, f"invalid time {text!r}: a Unix timestamp was expected") from None


def logs(req: Request) -> Response:
    rec = _rec(req)
    want = {1} if req.flag("stdout") else set()
    if req.flag("stderr"):
        want.add(2)
    if not want:
        raise ApiError(400, "Bad parameters: you must choose at least one stream")
    tail_text = req.arg("tail", "all")
    tail: int | None = None
    if tail_text != "all":
        try:
            tail = max(int(tail_text), 0) if int(tail_text) >= 0 else None
        except ValueError:
            raise ApiError(400, f"invalid tail {tail_text!r}") from None
    entries = _log_entries(req, rec, tail=tail, follow=req.flag("follow"), since=_since(req.arg("since")),
                           until=_since(req.arg("until")))  # fmt: skip
    stamps = req.flag("timestamps")
    tty = rec.options.tty

    def body() -> Iterator[bytes]:
        for e in entries:
            n = 2 if e.stream == "stderr" else 1
            if n not in want:
                continue
            data = ((e.time + " ") if stamps else "").encode() + e.log.encode("utf-8", "replace")
            yield data if tty else streams.frame(n, data)

    return Response(200, body(), content_type="application/vnd.docker.raw-stream")  # API 1.41's type, framed or not


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

    rec = _rec(req)
    outputs = tuple(n for n, name in ((1, "stdout"), (2, "stderr")) if req.flag(name))
    stream = req.flag("stream")
    include_logs = req.flag("logs")
    tty = rec.options.tty
    keys = attachment.parse_detach_keys(req.arg("detachKeys") or attachment.DEFAULT_DETACH_KEYS)  # dockerd: a 400
    lock, table = _attaches(req)
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
                for e in _log_entries(req, rec, tail=None, follow=False, since=0, until=0):
                    n = 2 if e.stream == "stderr" else 1
                    if n in outputs:
                        data = e.log.encode("utf-8", "replace")
                        sock.sendall(data if tty else streams.frame(n, data))
            if pending is not None:
                pending.serve(sock, tail)
            elif monitor is not None:
                from geedocker.api import monitor_attach

                monitor_attach.relay(sock, tail, monitor, stdin=req.flag("stdin") and rec.options.interactive,
                                     tty=tty, outputs=outputs, keys=keys)  # fmt: skip
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
    path = _store(req).log_path(rec.id)
    size = path.stat().st_size if path.exists() else 0
    from geedocker.containers import logs

    def done() -> bool:
        cur = _running(req, rec)
        return cur is None or cur.state.status != Status.RUNNING

    for e in logs.follow_entries(path, size, done, poll=0.05):
        n = 2 if e.stream == "stderr" else 1
        if n in outputs:
            data = e.log.encode("utf-8", "replace")
            sock.sendall(data if rec.options.tty else streams.frame(n, data))


def resize(req: Request) -> Response:
    rec = _rec(req)
    h, w = req.int_arg("h", 0) or 0, req.int_arg("w", 0) or 0
    if rec.state.status != Status.RUNNING:
        raise ApiError(409, f"Container {rec.id} is not running")
    if rec.options.tty and h > 0 and w > 0:
        streams.set_window(rec.state.pid, h, w)
    return Response(200, b"", content_type="text/plain")


# ---------------------------------------------------------------- changes, export, commit


def changes(req: Request) -> Response:
    from geedocker.containers.commit import diff

    kinds = {"C": 0, "A": 1, "D": 2}  # docker's ChangeType numbers
    rec = _rec(req)
    return json_response([{"Path": c.path, "Kind": kinds[c.kind]} for c in diff(req.layout, rec.id)] or None)


def export(req: Request) -> Response:
    from geedocker.containers.commit import export as do_export

    rec = _rec(req)
    r, w = os.pipe()

    def write() -> None:
        with os.fdopen(w, "wb") as out:
            with contextlib.suppress(GeeDockerError, OSError):  # the client sees a short tar: nothing else to say
                do_export(req.layout, rec.id, out)

    threading.Thread(target=write, daemon=True, name="api-export").start()

    def body() -> Iterator[bytes]:
        with os.fdopen(r, "rb") as f:
            while chunk := f.read(65536):
                yield chunk

    return Response(200, body(), content_type="application/x-tar")


def commit(req: Request) -> Response:
    from geedocker.containers.commit import commit as do_commit

    ref = req.arg("container")
    if not ref:
        raise ApiError(400, "container is required")
    body = req.json(required=False)
    if body:  # a config to merge: the CLI sends its --change lines as query parameters instead
        raise ApiError(400, "a commit config in the request body is not supported by geedocker; use changes")
    repo, tag = req.arg("repo"), req.arg("tag")
    name = (f"{repo}:{tag}" if tag else repo) or None
    try:
        rec = do_commit(req.layout, ref, name, changes=tuple(req.query.get("changes", [])),
                        message=req.arg("comment"), author=req.arg("author"))  # fmt: skip
    except ContainerNotFound as e:
        raise ApiError(404, f"No such container: {ref}") from e
    return json_response({"Id": str(rec.config_digest)}, 201)


# ---------------------------------------------------------------- pause, unpause, top, rename


def pause(req: Request) -> Response:
    from geedocker.containers import control

    control.pause(req.layout, _rec(req).id)
    return no_content()


def unpause(req: Request) -> Response:
    from geedocker.containers import control

    control.unpause(req.layout, _rec(req).id)
    return no_content()


def top(req: Request) -> Response:
    from geedocker.containers import control

    rec = _rec(req)
    if rec.state.status != Status.RUNNING:
        raise ApiError(409, f"Container {rec.id} is not running")
    ps_args = req.arg("ps_args")
    titles, rows = control.top(req.layout, rec.id, ps_args.split() if ps_args else [])
    return json_response({"Titles": titles, "Processes": rows})


def rename(req: Request) -> Response:
    from geedocker.containers import control

    new = req.arg("name")
    if not new:
        raise ApiError(400, "name is required")
    control.rename(req.layout, _rec(req).id, new)
    return no_content()
