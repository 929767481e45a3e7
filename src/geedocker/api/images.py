"""``/images/...``: thin handlers over ``geedocker.images`` (pull, push, import, save/load, tag, remove).

Pull and push stream docker's JSON progress messages (``{"status": ..., "id": ..., "progressDetail": ...}``,
one object per line), which the docker CLI draws as its progress bars; an error after the stream began is a
``{"error": ..., "errorDetail": {"message": ...}}`` line, as docker sends it. An error before anything was sent
(an unknown image, refused credentials) is a plain error answer with its status code.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from geedocker.api.errors import ApiError, from_engine
from geedocker.api.messages import Request, Response, json_response
from geedocker.containers.engine import Engine
from geedocker.errors import GeeDockerError

Emit = Callable[[dict[str, Any]], None]
_DONE = object()


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode() + b"\r\n"


def _streamed(work: Callable[[Emit], None]) -> Response:
    """Run ``work`` in a thread; its messages stream out as they come. Raises its error if it fails first."""
    q: queue.Queue[Any] = queue.Queue()

    def run() -> None:
        try:
            work(q.put)
            q.put(_DONE)
        except GeeDockerError as e:
            q.put(e)
        except Exception as e:  # noqa: BLE001 - reported on the stream
            q.put(RuntimeError(f"{type(e).__name__}: {e}"))

    threading.Thread(target=run, daemon=True, name="api-stream").start()
    first = q.get()
    if isinstance(first, GeeDockerError):
        raise from_engine(first)
    if isinstance(first, Exception):
        raise ApiError(500, str(first))

    def body() -> Iterator[bytes]:
        item = first
        while item is not _DONE:
            if isinstance(item, Exception):
                yield _line({"errorDetail": {"message": str(item)}, "error": str(item)})
                return
            yield _line(item)
            item = q.get()

    return Response(200, body())


def _registry_config(req: Request) -> Any:
    """The registry settings, with the client's ``X-Registry-Auth`` credentials (base64url JSON) when sent."""
    from geedocker.registry import Credentials, RegistryConfig, StaticCredentials
    from geedocker.values import replace

    cfg = RegistryConfig.from_env()
    header = req.headers.get("x-registry-auth", "")
    if not header:
        return cfg
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        auth = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError(400, "X-Registry-Auth: invalid base64-encoded JSON") from None
    if not isinstance(auth, dict):
        raise ApiError(400, "X-Registry-Auth: a JSON object was expected")
    user, password = str(auth.get("username") or ""), str(auth.get("password") or "")
    if not user or not password:
        return cfg
    host = str(auth.get("serveraddress") or "").removeprefix("https://").removeprefix("http://").split("/")[0]
    if host in ("", "index.docker.io", "docker.io"):
        host = "registry-1.docker.io"
    return replace(cfg, credentials=StaticCredentials({host: Credentials(user, password)}))


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.4g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000
    return f"{n}B"


def _bar(current: int, total: int) -> str:
    if total <= 0:
        return _size(current)
    width = 50
    done = min(width, width * current // total)
    arrow = "=" * max(done - 1, 0) + (">" if done < width else "=") if done else ">"
    return f"[{arrow}{' ' * (width - len(arrow))}] {_size(current)}/{_size(total)}"


_STATUS_TEXT = {"Waiting": "Waiting", "Downloading": "Downloading", "Already exists": "Already exists",
                "Extracting": "Extracting", "Pull complete": "Pull complete"}  # fmt: skip


def create(req: Request) -> Response:
    from_image = req.arg("fromImage")
    from_src = req.arg("fromSrc")
    if from_src:
        return _import(req, from_src)
    if not from_image:
        raise ApiError(400, "fromImage or fromSrc is required")
    tag = req.arg("tag")
    name = from_image
    if tag:
        name = f"{from_image}@{tag}" if tag.startswith("sha256:") else f"{from_image}:{tag}"
    platform_text = req.arg("platform")
    req.drain()
    return _streamed(lambda emit: _pull(req, name, platform_text, emit))


def _pull(req: Request, name: str, platform_text: str, emit: Emit) -> None:
    from geedocker import reference as refs
    from geedocker.images.pull import PullOptions, pull
    from geedocker.oci import Platform

    ref = refs.parse(name)
    options = PullOptions(platform=Platform.parse(platform_text) if platform_text else None,
                          registry_config=_registry_config(req))  # fmt: skip
    shown = ref.tag or str(ref.digest)
    started = False
    lock = threading.Lock()

    def progress(ev: Any) -> None:
        nonlocal started
        with lock:
            if not started:
                started = True
                emit({"status": f"Pulling from {ref.familiar().rsplit(':', 1)[0].split('@')[0]}", "id": shown})
            status = _STATUS_TEXT.get(ev.status.value, ev.status.value)
            msg: dict[str, Any] = {"status": status, "progressDetail": {}, "id": ev.layer}
            if status == "Waiting" and ev.layer:
                msg["status"] = "Pulling fs layer"
            if status in ("Downloading", "Extracting") and ev.total:
                msg["progressDetail"] = {"current": ev.current, "total": ev.total}
                msg["progress"] = _bar(ev.current, ev.total)
            emit(msg)

    from geedocker.errors import ImageNotFound

    try:
        before = Engine.of(req.layout).images.resolve(name).manifest_digest
    except (ImageNotFound, GeeDockerError):
        before = None
    result = pull(req.layout, name, options=options, progress=progress)
    if not started:
        emit({"status": f"Pulling from {ref.familiar().rsplit(':', 1)[0].split('@')[0]}", "id": shown})
    emit({"status": f"Digest: {result.digest}"})
    same = before is not None and before == result.record.manifest_digest
    what = "Image is up to date" if same else "Downloaded newer image"
    emit({"status": f"Status: {what} for {ref.familiar()}"})


def _import(req: Request, src: str) -> Response:
    from geedocker.images.importer import import_rootfs

    if src != "-":
        raise ApiError(400, "fromSrc: only \"-\" (the request body) is supported by geedocker")
    repo, tag = req.arg("repo"), req.arg("tag")
    name = f"{repo}:{tag}" if repo and tag else repo or None
    changes = tuple(req.query.get("changes", []))
    rec = import_rootfs(req.layout, req.stream(), name, changes=changes, message=req.arg("message"))  # type: ignore[arg-type]
    return Response(200, _line({"status": str(rec.id)}))


def _group(req: Request) -> dict[str, dict[str, Any]]:
    """Local images by ID, docker's /images/json shape."""
    from geedocker.images.local import list_images
    from geedocker.timefmt import parse_rfc3339

    out: dict[str, dict[str, Any]] = {}
    for row in list_images(req.layout):
        d = out.get(row.id)
        if d is None:
            t = parse_rfc3339(row.created)
            d = out[row.id] = {"Id": row.id, "ParentId": "", "RepoTags": [], "RepoDigests": [],
                               "Created": int(t.timestamp()) if t else 0, "Size": row.size,
                               "VirtualSize": row.size, "SharedSize": -1, "Labels": {}, "Containers": -1}  # fmt: skip
        if row.tag != "<none>":
            d["RepoTags"].append(f"{row.repository}:{row.tag}")
        if row.digest and f"{row.repository}@{row.digest}" not in d["RepoDigests"]:
            d["RepoDigests"].append(f"{row.repository}@{row.digest}")
    return out


def list_(req: Request) -> Response:
    import fnmatch

    filters = req.json_arg("filters") or {}
    if not isinstance(filters, dict):
        raise ApiError(400, "filters: a JSON object was expected")
    for k in filters:
        if k not in ("reference", "dangling", "label", "before", "since"):
            raise ApiError(400, f"invalid filter '{k}'")
    refs_wanted = list(filters.get("reference") or [])
    labels = list(filters.get("label") or [])
    images = list(_group(req).values())
    if refs_wanted:
        images = [i for i in images if any(fnmatch.fnmatch(t, r) or fnmatch.fnmatch(t, r + ":*")
                                           for t in i["RepoTags"] for r in refs_wanted)]  # fmt: skip
    if labels:
        images = []  # geedocker's images carry their labels in the config; none is matched here yet
    return json_response(images)


def inspect(req: Request) -> Response:
    from geedocker.images.local import inspect_image

    d = inspect_image(req.layout, req.params["name"])
    d.setdefault("Parent", "")
    d.setdefault("Comment", "")
    d.setdefault("ContainerConfig", d.get("Config"))
    d.setdefault("DockerVersion", "")
    d.setdefault("Author", "")
    d.setdefault("VirtualSize", d.get("Size"))
    d.setdefault("GraphDriver", {"Name": "overlay2", "Data": None})
    return json_response(d)


def history(req: Request) -> Response:
    from geedocker.timefmt import parse_rfc3339

    rec = Engine.of(req.layout).images.resolve(req.params["name"])
    out = []
    for i, h in enumerate(reversed(rec.config.history)):
        t = parse_rfc3339(str(h.get("created") or ""))
        out.append({"Id": str(rec.id) if i == 0 else "<missing>", "Created": int(t.timestamp()) if t else 0,
                    "CreatedBy": str(h.get("created_by") or ""), "Tags": None, "Size": 0,
                    "Comment": str(h.get("comment") or "")})  # fmt: skip
    if not out:
        out.append({"Id": str(rec.id), "Created": 0, "CreatedBy": "", "Tags": None, "Size": 0, "Comment": ""})
    return json_response(out)


def tag(req: Request) -> Response:
    from geedocker.images.local import tag_image

    repo, t = req.arg("repo"), req.arg("tag")
    if not repo:
        raise ApiError(400, "repo is required")
    tag_image(req.layout, req.params["name"], f"{repo}:{t}" if t else repo)
    return Response(201, b"", content_type="")


def remove(req: Request) -> Response:
    from geedocker.images.local import remove_image

    out = []
    users = Engine.of(req.layout).containers.image_users
    for line in remove_image(req.layout, req.params["name"], users=users, force=req.flag("force")):
        key, _, val = line.partition(": ")
        out.append({"Untagged" if key == "Untagged" else "Deleted": val})
    return json_response(out)


def prune(req: Request) -> Response:
    """Dangling images by default (docker's), every unused one with ``dangling=false``; until and label filters."""
    from geedocker.api.filters import filters_arg
    from geedocker.containers import prune

    pruned = prune.images(req.layout, filters_arg(req))
    deleted = []
    for line in pruned.deleted:
        key, _, val = line.partition(": ")
        deleted.append({"Untagged" if key == "Untagged" else "Deleted": val})
    return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": pruned.reclaimed})


def search(req: Request) -> Response:
    raise ApiError(501, "image search is not supported by geedocker (Distribution registries have no search "
                        "API; search the registry's web site)")  # fmt: skip


def push(req: Request) -> Response:
    from geedocker.images.push import push as do_push

    name = req.params["name"]
    t = req.arg("tag")
    if t:
        name = f"{name}:{t}"
    cfg = _registry_config(req)
    req.drain()

    def work(emit: Emit) -> None:
        emit({"status": f"The push refers to repository [{name.rsplit(':', 1)[0]}]"})
        res = do_push(req.layout, name, config=cfg, progress=lambda text: emit({"status": text}))
        emit({"status": f"{t or 'latest'}: digest: {res.digest} size: {res.size}"})
        emit({"progressDetail": {}, "aux": {"Tag": t or "latest", "Digest": str(res.digest), "Size": res.size}})

    return _streamed(work)


def _tar_of(req: Request, names: list[str]) -> Response:
    from geedocker.images.tarball import save

    store = Engine.of(req.layout).images
    for n in names:
        store.resolve(n)  # a 404 before the stream starts
    r, w = os.pipe()

    def write() -> None:
        with os.fdopen(w, "wb") as out:
            try:
                save(req.layout, names, out)
            except (GeeDockerError, OSError):
                pass  # the client sees a truncated tar; nothing else can be said once it began

    threading.Thread(target=write, daemon=True, name="api-save").start()

    def body() -> Iterator[bytes]:
        with os.fdopen(r, "rb") as f:
            while chunk := f.read(65536):
                yield chunk

    return Response(200, body(), content_type="application/x-tar")


def get(req: Request) -> Response:
    return _tar_of(req, [req.params["name"]])


def get_many(req: Request) -> Response:
    names = req.query.get("names", [])
    if not names:
        raise ApiError(400, "names is required")
    return _tar_of(req, names)


def load(req: Request) -> Response:
    from geedocker.images.tarball import load as do_load

    loaded = do_load(req.layout, req.stream())  # type: ignore[arg-type]
    quiet = req.flag("quiet")
    lines = []
    for item in loaded:
        for n in item.names or (str(item.record.id),):
            text = f"Loaded image: {n}\n" if item.names else f"Loaded image ID: {n}\n"
            lines.append(_line({"stream": text}) if not quiet else b"")
    return Response(200, b"".join(lines))
