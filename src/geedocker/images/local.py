"""The image commands' library side: list, inspect, tag, remove, unpack (flatten).

Each ``geedocker`` image command is a thin wrapper over one function here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from geedocker import reference as refs
from geedocker.errors import InvalidReference
from geedocker.store.images import ImageRecord, ImageStore, ImageUsers, users_lock
from geedocker.store.layout import Layout
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from typing import Any

    from geedocker.oci import ContainerConfig


@value
class ImageRow:
    """One line of ``images``: an image under one of its names."""

    repository: str
    tag: str
    digest: str
    id: str
    created: str
    size: int

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    def to_json(self) -> dict[str, Any]:
        return {
            "Repository": self.repository,
            "Tag": self.tag,
            "Digest": self.digest,
            "ID": self.id,
            "CreatedAt": self.created,
            "Size": self.size,
        }


def image_size(layout: Layout, record: ImageRecord) -> int:
    """Unpacked size of the image's layers where known, else the compressed size."""
    return ImageStore(layout).layers_size(record)[0]


def list_images(layout: Layout, repository: str | None = None) -> list[ImageRow]:
    store = ImageStore(layout)
    want_repo = want_tag = None
    if repository:
        try:
            r = refs.parse(repository, default_tag=False)
        except InvalidReference:
            r = None
        if r is not None:
            want_repo, want_tag = r.repository, r.tag
    rows: list[ImageRow] = []
    for rec in store.summaries():  # images.json alone (ImageStore.summaries)
        size = rec.size
        names: list[tuple[str, str]] = []
        for t in rec.tags:
            r = refs.parse(t)
            names.append((r.familiar().rsplit(":", 1)[0] if r.tag else r.familiar(), r.tag or "<none>"))
        digests = {d.split("@", 1)[0]: d.split("@", 1)[1] for d in rec.repo_digests}
        if not names:
            for d in rec.repo_digests:
                repo = refs.parse(d).with_tag("x").familiar().rsplit(":", 1)[0]
                names.append((repo, "<none>"))
        if not names:
            names.append(("<none>", "<none>"))
        for repo, tag in names:
            full = refs.parse(repo, default_tag=False).repository if repo != "<none>" else ""
            if want_repo and full != want_repo:
                continue
            if want_tag and tag != want_tag:
                continue
            rows.append(ImageRow(repo, tag, digests.get(full, ""), str(rec.id), rec.created, size))
    rows.sort(key=lambda r: (r.created, r.repository, r.tag), reverse=True)
    return rows


def docker_config(cfg: ContainerConfig | None, **given: Any) -> dict[str, Any]:
    """docker's container.Config struct (image inspect's Config and ContainerConfig, container inspect's Config):
    every key in docker's order, the ``omitempty`` ones only when set. ``cfg``'s run config, then ``given``
    (a container's values) over it."""
    from geedocker.oci import ContainerConfig

    c = cfg or ContainerConfig()
    extra = {k: c.get(k) for k, _ in c.extra}
    out: dict[str, Any] = {
        "Hostname": extra.get("Hostname") or "", "Domainname": extra.get("Domainname") or "", "User": c.user,
        "AttachStdin": False, "AttachStdout": False, "AttachStderr": False,
        "ExposedPorts": {p: {} for p in c.exposed_ports} or None,
        "Tty": False, "OpenStdin": False, "StdinOnce": False,
        "Env": list(c.env) or None,
        "Cmd": list(c.cmd) if c.cmd is not None else None,
        "Healthcheck": extra.get("Healthcheck"), "ArgsEscaped": extra.get("ArgsEscaped"),
        "Image": extra.get("Image") or "",
        "Volumes": {v: {} for v in c.volumes} or None,
        "WorkingDir": c.working_dir,
        "Entrypoint": list(c.entrypoint) if c.entrypoint is not None else None,
        "NetworkDisabled": extra.get("NetworkDisabled"), "MacAddress": extra.get("MacAddress"),
        "OnBuild": extra.get("OnBuild"),
        "Labels": dict(c.labels) or None,
        "StopSignal": c.stop_signal or None, "StopTimeout": extra.get("StopTimeout"), "Shell": extra.get("Shell"),
    }  # fmt: skip
    from geedocker.format.struct import GoObject

    out.update(given)
    return GoObject({k: v for k, v in out.items() if not (k in CONFIG_OMITEMPTY and v in (None, "", False, {}, []))},
                    CONFIG_OMITEMPTY, CONFIG_NILS)


# container.Config's omitempty fields, with their zero values (what a template sees when they are left out)
CONFIG_OMITEMPTY: dict[str, object] = {"ExposedPorts": None, "Healthcheck": None, "ArgsEscaped": False,
                                       "NetworkDisabled": False, "MacAddress": "", "StopSignal": "",
                                       "StopTimeout": None, "Shell": None}  # fmt: skip
# the Go kinds of its fields that may be nil (a template prints a nil slice "[]", a nil map "map[]")
CONFIG_NILS = {"ExposedPorts": "map", "Volumes": "map", "Labels": "map", "Env": "slice", "Cmd": "slice",
               "Entrypoint": "slice", "OnBuild": "slice", "Shell": "slice", "Healthcheck": "ptr",
               "StopTimeout": "ptr"}  # fmt: skip


def graph_driver(layout: Layout, chain_ids: list[Any]) -> dict[str, Any]:
    """docker's GraphDriver of an image: overlay2 with the top layer's directory as UpperDir and the others (top
    to bottom) as LowerDir; MergedDir and WorkDir beside the top one, as docker names them (for an image neither
    exists, in docker's store as in geedocker's)."""
    from geedocker.store.layers import LayerStore

    if not chain_ids:
        return {"Data": None, "Name": "overlay2"}
    layers = LayerStore(layout)
    dirs = [layers.diff_path(c) for c in reversed(chain_ids)]
    data: dict[str, str] = {}
    if len(dirs) > 1:
        data["LowerDir"] = ":".join(str(d) for d in dirs[1:])
    data.update(MergedDir=str(dirs[0].parent / "merged"), UpperDir=str(dirs[0]), WorkDir=str(dirs[0].parent / "work"))
    return {"Data": data, "Name": "overlay2"}


def inspect_image(layout: Layout, name: str) -> dict[str, Any]:
    """``docker image inspect``'s JSON, with dockerd 20.10's keys in its order (fields of the config blob that
    geedocker does not model, such as author and comment, read from the blob), then geedocker's own:
    ``Manifest`` (digest and media type) and ``Metadata.Added``."""
    import json

    from geedocker.store.blobs import BlobStore

    rec = ImageStore(layout).resolve(name)
    cfg = rec.config
    try:
        raw = json.loads(BlobStore(layout).read_bytes(rec.config_digest))
        raw = raw if isinstance(raw, dict) else {}
    except (OSError, ValueError):
        raw = {}

    def text(key: str) -> str:
        v = raw.get(key)
        return v if isinstance(v, str) else ""

    container_config = raw.get("container_config")
    if not isinstance(container_config, dict):
        container_config = None
    from geedocker.oci import ContainerConfig

    size = image_size(layout, rec)
    out: dict[str, Any] = {
        "Id": str(rec.id),
        "RepoTags": [refs.parse(t).familiar() for t in rec.tags],
        "RepoDigests": list(rec.repo_digests),
        "Parent": "",  # geedocker keeps no intermediate images
        "Comment": text("comment"),
        "Created": cfg.created,
        "Container": text("container"),
        "ContainerConfig": docker_config(ContainerConfig.from_json(container_config) if container_config else None),
        "DockerVersion": text("docker_version"),
        "Author": text("author"),
        "Config": docker_config(cfg.config),
        "Architecture": cfg.architecture,
    }
    if cfg.variant:
        out["Variant"] = cfg.variant
    from geedocker.format.struct import GoObject, GoTime

    out.update({
        "Os": cfg.os,
        "Size": size,
        "VirtualSize": size,
        "GraphDriver": graph_driver(layout, rec.chain_ids),
        "RootFS": {"Type": "layers", "Layers": [str(d) for d in cfg.diff_ids]},
        "Metadata": {"LastTagTime": GoTime(_ZERO_TIME)},
        "Manifest": {"Digest": str(rec.manifest_digest), "MediaType": rec.manifest.media_type},
    })
    out["Metadata"]["Added"] = rec.added

    return GoObject(out, {"Variant": "", "OsVersion": ""})


_ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time, as docker shows a time it does not have


def tag_image(layout: Layout, source: str, target: str) -> ImageRecord:
    from geedocker.images import events

    rec = ImageStore(layout).tag(source, target)
    events.tagged(layout, rec, target)  # also when the name already pointed at it, as docker
    return rec


def remove_image(layout: Layout, name: str, *, users: Callable[[], ImageUsers], force: bool = False) -> list[str]:
    """``rmi``: ``users`` says what containers use (``ContainerStore.image_users``; the caller asks the
    containers, which sit above images). It is asked under ``users_lock``, which creating a container holds
    from checking its layers to writing its record, so no container is made on layers this removes."""
    from geedocker.images import events

    with users_lock(layout):
        store = ImageStore(layout)
        rec = store.resolve(name)  # for the events: the ID and labels of what goes
        lines = store.remove(name, force=force, users=users())
    for line in lines:  # docker: an untag for each tag removed (not for repo digests), a delete for the image
        what, _, ref = line.partition(": ")
        if what == "Untagged" and "@" not in ref:
            events.by_id(layout, rec, "untag")
        elif what == "Deleted" and ref == str(rec.config_digest):
            events.by_id(layout, rec, "delete")
    return lines


def unpack_image(layout: Layout, name: str, dest: Path) -> ImageRecord:
    """Write the image's flattened root filesystem to ``dest`` (whiteouts applied), like ``umoci unpack``."""
    from geedocker.archive import flatten
    from geedocker.store.blobs import BlobStore

    rec = ImageStore(layout).resolve(name)
    blobs = BlobStore(layout)
    flatten([blobs.path(d) for d in rec.layer_digests], dest)
    return rec
