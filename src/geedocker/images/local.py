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


def inspect_image(layout: Layout, name: str) -> dict[str, Any]:
    """docker-style ``inspect`` JSON for an image."""
    rec = ImageStore(layout).resolve(name)
    cfg = rec.config
    return {
        "Id": str(rec.id),
        "RepoTags": [refs.parse(t).familiar() for t in rec.tags],
        "RepoDigests": list(rec.repo_digests),
        "Created": cfg.created,
        "Architecture": cfg.architecture,
        "Variant": cfg.variant or None,
        "Os": cfg.os,
        "Size": image_size(layout, rec),
        "Config": cfg.config.to_json(),
        "RootFS": {"Type": "layers", "Layers": [str(d) for d in cfg.diff_ids]},
        "Manifest": {"Digest": str(rec.manifest_digest), "MediaType": rec.manifest.media_type},
        "Metadata": {"Added": rec.added},
    }


def tag_image(layout: Layout, source: str, target: str) -> ImageRecord:
    return ImageStore(layout).tag(source, target)


def remove_image(layout: Layout, name: str, *, users: Callable[[], ImageUsers], force: bool = False) -> list[str]:
    """``rmi``: ``users`` says what containers use (``ContainerStore.image_users``; the caller asks the
    containers, which sit above images). It is asked under ``users_lock``, which creating a container holds
    from checking its layers to writing its record, so no container is made on layers this removes."""
    with users_lock(layout):
        return ImageStore(layout).remove(name, force=force, users=users())


def unpack_image(layout: Layout, name: str, dest: Path) -> ImageRecord:
    """Write the image's flattened root filesystem to ``dest`` (whiteouts applied), like ``umoci unpack``."""
    from geedocker.archive import flatten
    from geedocker.store.blobs import BlobStore

    rec = ImageStore(layout).resolve(name)
    blobs = BlobStore(layout)
    flatten([blobs.path(d) for d in rec.layer_digests], dest)
    return rec
