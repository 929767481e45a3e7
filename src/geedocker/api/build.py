"""``POST /build`` and ``POST /build/prune``: docker's classic builder API over geedocker's builder.

The body is the build context: a tar, plain or compressed (gzip, bzip2, xz, zstd), unpacked by the safe
unpacker into a temp dir on the store's file system; the Dockerfile is ``dockerfile`` in it (``Dockerfile`` by
default, else ``dockerfile``, as dockerd looks). Reading the request is ``build_request``'s job; this module
runs the build and streams its progress. The build runs in a thread of its own, one stage at a time,
with ``Classic`` as its progress display, which turns the builder's events into the classic builder's messages,
one JSON object a line, as dockerd 20.10 sends them::

    {"stream":"Step 2/3 : RUN make"}  {"stream":"\\n"}  {"stream":" ---> Running in 3f2a1b0c9d8e\\n"}
    {"stream":"cc -o app app.c\\n"}  {"stream":"Removing intermediate container 3f2a1b0c9d8e\\n"}
    {"aux":{"ID":"sha256:..."}}  {"stream":"Successfully built 1a2b3c4d5e6f\\n"}
    {"stream":"Successfully tagged app:1\\n"}

geedocker's builder makes no intermediate images, so the `` ---> <image id>`` lines after each step are not
sent (the final ID comes in ``aux`` and ``Successfully built``, which docker-py and compose read).
An error before the first message (a Dockerfile that does not parse, an unknown target) is a plain error
answer; after it, an ``{"errorDetail": {...}, "error": ...}`` line, where a failing RUN's carries its exit
code (docker's CLI exits with it). With ``q`` only ``{"stream": "sha256:...\\n"}`` is sent on success; the rest
is kept, and sent before the error if the build fails (as dockerd). A client that goes away cancels the build
(its RUN container is killed); the build's containers and the context are removed in every case.
"""

from __future__ import annotations

import codecs
import json
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from geedocker.api.build_request import build_options, unpack_context
from geedocker.api.errors import ApiError, from_engine
from geedocker.api.messages import Request, Response, json_response
from geedocker.build.progress import Display, Vertex
from geedocker.errors import GeeDockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.store.images import ImageRecord

Emit = Callable[[dict[str, Any]], None]

CLIENT_CHECK = 1.0  # seconds of silence from the build after which the client's connection is looked at


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode() + b"\r\n"


class Classic(Display):
    """The builder's events as the classic builder's ``stream`` messages (see the module doc)."""

    def __init__(self, emit: Emit) -> None:
        super().__init__()
        self.emit = emit
        self.containers: dict[int, str] = {}  # vertex number -> the RUN container it ran in
        self.decoders: dict[tuple[int, str], codecs.IncrementalDecoder] = {}

    def _say(self, text: str) -> None:
        self.emit({"stream": text})

    def instruction(self, number: int, total: int, text: str) -> None:
        with self.lock:
            self._say(f"Step {number}/{total} : {text}")
            self._say("\n")  # dockerd sends the step and its newline apart

    def container(self, v: Vertex, cid: str) -> None:
        with self.lock:
            self.containers[v.number] = cid
            self._say(f" ---> Running in {cid[:12]}\n")

    def warning(self, text: str) -> None:
        with self.lock:
            self._say(f"{text}\n")

    def log(self, v: Vertex, data: bytes, stream: str = "stdout") -> None:
        # as dockerd: each piece as it comes, not cut into lines; stderr's in red (docker's CLI shows it so)
        with self.lock:
            dec = self.decoders.get((v.number, stream))
            if dec is None:  # a character cut between two pieces is not garbled
                dec = self.decoders[(v.number, stream)] = codecs.getincrementaldecoder("utf-8")("replace")
            text = dec.decode(data)
            if text:
                self._say(f"\x1b[91m{text}\x1b[0m" if stream == "stderr" else text)

    def _end(self, v: Vertex) -> None:
        super()._end(v)
        if v.cached:
            self._say(" ---> Using cache\n")
        elif not v.error and v.number in self.containers:
            self._say(f"Removing intermediate container {self.containers[v.number][:12]}\n")


class _Done:
    def __init__(self, rec: ImageRecord) -> None:
        self.rec = rec


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def build(req: Request) -> Response:
    from geedocker.build.builder import Builder, run
    from geedocker.trees import rmtree

    if req.arg("remote"):
        raise ApiError(400, "remote build contexts (remote=...) are not supported by geedocker: send the context "
                            "as the request body")  # fmt: skip
    if req.arg("version") == "2":
        raise ApiError(400, "BuildKit builds (version=2) are not supported by geedocker: use the classic builder "
                            "(DOCKER_BUILDKIT=0)")  # fmt: skip
    quiet = req.flag("q")
    context = unpack_context(req)
    items: queue.Queue[Any] = queue.Queue()
    try:
        opts = build_options(req, context)
        builder = Builder(req.layout, opts, display=Classic(items.put))  # a bad platform is refused here
    except BaseException:
        rmtree(context, ignore_errors=True)
        raise

    def work() -> None:
        result: _Done | _Failed
        try:
            result = _Done(run(builder))
        except BaseException as e:  # noqa: BLE001 - reported on the stream (or as the answer)
            result = _Failed(e)
        rmtree(context, ignore_errors=True)  # before the answer ends: a client that looks finds nothing left
        items.put(result)

    worker = threading.Thread(target=work, daemon=True, name="api-build")
    worker.start()
    first = items.get()
    if isinstance(first, _Failed):
        worker.join()
        raise _api_error(first.error)

    def body() -> Iterator[bytes]:
        kept: list[bytes] = []  # with q: the output, sent only if the build fails
        item = first
        finished = False
        try:
            while True:
                if isinstance(item, _Done):
                    finished = True
                    yield from _success(item.rec, opts.tags, quiet)
                    return
                if isinstance(item, _Failed):
                    finished = True
                    yield from kept
                    yield _error_line(item.error)
                    return
                if quiet:
                    kept.append(_line(item))
                else:
                    yield _line(item)
                item = _next(items, req)
                if item is None:
                    return  # the client is gone
        finally:
            if not finished:  # the client went away: stop the build, and wait for it to clean up
                builder.cancel()
                worker.join()

    return Response(200, body())


def _next(items: queue.Queue[Any], req: Request) -> Any:
    """The build's next message; None once the client has gone away (looked at while the build is silent)."""
    while True:
        try:
            return items.get(timeout=CLIENT_CHECK)
        except queue.Empty:
            if req.peer_closed():
                return None


def _success(rec: ImageRecord, tags: tuple[str, ...], quiet: bool) -> Iterator[bytes]:
    from geedocker import reference as refs

    if quiet:
        yield _line({"stream": f"{rec.id}\n"})
        return
    yield _line({"aux": {"ID": str(rec.id)}})
    yield _line({"stream": f"Successfully built {str(rec.id).removeprefix('sha256:')[:12]}\n"})
    for t in tags:
        yield _line({"stream": f"Successfully tagged {refs.parse(t).familiar()}\n"})


def _api_error(e: BaseException) -> ApiError:
    if isinstance(e, GeeDockerError):
        return from_engine(e)
    return ApiError(500, f"internal error: {type(e).__name__}: {e}")


def _error_line(e: BaseException) -> bytes:
    from geedocker.build.errors import RunFailed

    message = str(e) if isinstance(e, GeeDockerError) else f"internal error: {type(e).__name__}: {e}"
    detail: dict[str, Any] = {"message": message}
    if isinstance(e, RunFailed):
        detail = {"code": e.code, "message": message}
    return _line({"errorDetail": detail, "error": message})


# ---------------------------------------------------------------- prune


def prune(req: Request) -> Response:
    """The build cache, as ``geedocker builder prune``: every entry (``all`` changes nothing: the cache holds
    only layers). Filters match nothing (entries have neither labels nor times), but a bad ``until`` is refused
    as BuildKit's prune refuses it; ``keep-storage`` above 0 keeps everything rather than guess."""
    from geedocker.build.cache import BuildCache
    from geedocker.timefmt import go_duration_error

    filters = req.json_arg("filters") or {}
    if not isinstance(filters, dict):
        raise ApiError(400, "invalid filters: a JSON object was expected")
    for key, vals in filters.items():
        for u in vals if key == "until" else ():
            if err := go_duration_error(str(u)):
                raise ApiError(400, f"failed to prune build cache: \"until\" filter expects a duration "
                                    f"(e.g., '24h'): {err}")  # fmt: skip
    keep = req.int_arg("keep-storage", 0) or 0
    if filters or keep > 0:
        return json_response({"CachesDeleted": None, "SpaceReclaimed": 0})
    removed, freed = BuildCache(req.layout).prune()
    return json_response({"CachesDeleted": removed or None, "SpaceReclaimed": freed})
