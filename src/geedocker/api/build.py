"""``POST /build`` and ``POST /build/prune``: docker's classic builder API over geedocker's builder.

The body is the build context: a tar, plain or compressed (gzip, bzip2, xz, zstd), unpacked by the safe
unpacker into a temp dir on the store's file system; the Dockerfile is ``dockerfile`` in it (``Dockerfile`` by
default, else ``dockerfile``, as dockerd looks). The build runs in a thread of its own, one stage at a time,
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

import base64
import codecs
import json
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from geedocker.api.errors import ApiError, from_engine
from geedocker.api.messages import Request, Response, json_response
from geedocker.build.progress import Display, Vertex
from geedocker.errors import GeeDockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.build.options import BuildOptions
    from geedocker.registry import RegistryConfig
    from geedocker.store.images import ImageRecord

Emit = Callable[[dict[str, Any]], None]

BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
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
    context = _unpack_context(req)
    items: queue.Queue[Any] = queue.Queue()
    try:
        opts = _options(req, context)
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


# ---------------------------------------------------------------- the request


def _options(req: Request, context: Path) -> BuildOptions:
    from geedocker import reference as refs
    from geedocker.build.options import BuildOptions
    from geedocker.containers.flags import parse_bytes
    from geedocker.network.options import parse_add_host

    tags = tuple(req.query.get("t", []))
    for t in tags:
        refs.parse(t)  # a bad name is refused before the build (400), as dockerd does
    name = req.arg("dockerfile") or "Dockerfile"
    df_path = _dockerfile(context, name)
    text = df_path.read_text(errors="surrogateescape")
    if not text.strip():
        raise ApiError(400, f"the Dockerfile ({name}) cannot be empty")
    network = req.arg("networkmode") or "default"
    if network == "bridge":
        network = "default"
    if network not in ("default", "host", "none"):
        raise ApiError(400, f"networkmode {network!r} is not supported by geedocker's builder: default, bridge, "
                            "host or none")  # fmt: skip
    platform = req.arg("platform")
    if platform:
        from geedocker.oci import Platform

        try:
            Platform.parse(platform)
        except GeeDockerError as e:
            raise ApiError(400, str(e)) from e  # dockerd: an invalid parameter
    hosts = [h for v in req.query.get("extrahosts", []) for h in v.split(",") if h.strip()]
    shm = req.arg("shmsize")
    return BuildOptions(
        dockerfile=text, context=context, dockerfile_path=df_path, tags=tags,
        build_args=_string_map(req, "buildargs", skip_null=True), target=req.arg("target"),
        labels=_string_map(req, "labels"), no_cache=req.flag("nocache"), pull=req.flag("pull"),
        network=network, platform=platform, add_hosts=tuple(parse_add_host(h) for h in hosts),
        shm_size=parse_bytes(shm, "shmsize") if shm and shm != "0" else None,
        parallel=1,  # the classic builder's output is one step after another
        registry_config=_registry_config(req),
    )  # fmt: skip


def _string_map(req: Request, name: str, skip_null: bool = False) -> tuple[tuple[str, str], ...]:
    """A JSON object of strings in query parameter ``name``; a null value (a build arg named without a value
    that the client's environment does not have) leaves the Dockerfile's default."""
    d = req.json_arg(name) or {}
    if not isinstance(d, dict):
        raise ApiError(400, f"{name}: a JSON object was expected")
    out = []
    for k, v in d.items():
        if v is None and skip_null:
            continue
        if v is not None and not isinstance(v, str):
            raise ApiError(400, f"{name}: the value of {k!r} must be a string")
        out.append((str(k), v or ""))
    return tuple(out)


def _dockerfile(context: Path, name: str) -> Path:
    from geedocker.containers.paths import secure_join

    path = secure_join(context, name.lstrip("/"))
    if not path.is_file() and name == "Dockerfile":
        lower = secure_join(context, "dockerfile")
        if lower.is_file():
            return lower
    if not path.is_file():
        raise ApiError(500, f"Cannot locate specified Dockerfile: {name}")  # dockerd's words and status
    return path


def _registry_config(req: Request) -> RegistryConfig | None:
    """The credentials the client sends for the base images' pulls (``X-Registry-Config``: base64url JSON,
    registry -> {username, password} or {auth}); None without any."""
    from geedocker.registry import Credentials, RegistryConfig, StaticCredentials
    from geedocker.values import replace

    header = req.headers.get("x-registry-config", "")
    if not header:
        return None
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        auths = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError(400, "X-Registry-Config: invalid base64-encoded JSON") from None
    if not isinstance(auths, dict):
        raise ApiError(400, "X-Registry-Config: a JSON object was expected")
    found: dict[str, Credentials] = {}
    for key, a in auths.items():
        if not isinstance(a, dict):
            continue
        user, password = str(a.get("username") or ""), str(a.get("password") or "")
        if not (user and password) and a.get("auth"):
            try:
                user, _, password = base64.b64decode(str(a["auth"])).decode().partition(":")
            except ValueError:
                continue
        if not (user and password):
            continue
        host = str(key).removeprefix("https://").removeprefix("http://").split("/")[0]
        if host in ("", "index.docker.io", "docker.io"):
            host = "registry-1.docker.io"
        found[host] = Credentials(user, password)
    if not found:
        return None
    return replace(RegistryConfig.from_env(), credentials=StaticCredentials(found))


# ---------------------------------------------------------------- the context


class _Replay:
    """``read`` that first gives back the bytes already looked at."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self.head = head
        self.rest = rest

    def read(self, n: int = -1, /) -> bytes:
        if not self.head:
            return bytes(self.rest.read(n))
        if n < 0:
            out, self.head = self.head + bytes(self.rest.read()), b""
            return out
        out, self.head = self.head[:n], self.head[n:]
        return out

    def readable(self) -> bool:
        return True


def _unpack_context(req: Request) -> Path:
    """The request body's tar, unpacked into a new temp dir under the store's ``tmp``."""
    import bz2
    import lzma
    import tempfile

    from geedocker.archive.apply import apply_layer
    from geedocker.archive.options import WhiteoutPolicy
    from geedocker.trees import rmtree

    body = req.stream()
    head = body.read(6)
    if not head:
        raise ApiError(400, "the request body is empty: a tar archive of the build context was expected")
    stream: Any = _Replay(head, body)
    if head.startswith(BZIP2_MAGIC):
        stream = bz2.BZ2File(stream)
    elif head.startswith(XZ_MAGIC):
        stream = lzma.LZMAFile(stream)
    req.layout.tmp.mkdir(parents=True, exist_ok=True)
    d = Path(tempfile.mkdtemp(prefix="build-context-", dir=req.layout.tmp))
    try:
        apply_layer(stream, d, WhiteoutPolicy.APPLY)
    except (OSError, EOFError, lzma.LZMAError) as e:
        rmtree(d, ignore_errors=True)
        raise ApiError(400, f"the build context is not a valid tar archive: {e}") from e
    except GeeDockerError as e:
        rmtree(d, ignore_errors=True)
        raise ApiError(400, f"the build context is not a valid tar archive: {e}") from e
    except BaseException:
        rmtree(d, ignore_errors=True)
        raise
    return d


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
