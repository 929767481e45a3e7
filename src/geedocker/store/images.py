"""Image records: which names point at which manifest, and what each image is made of.

``images.json`` (written atomically under a lock)::

    {"version": 1,
     "tags":   {"docker.io/library/busybox:latest": "sha256:<manifest>"},
     "images": {"sha256:<manifest>": {"config": "sha256:<config>", "repo_digests": [...],
                                      "created": "...", "added": "...", "size": 1234,
                                      "unpacked_size": 5678}}}

The manifest and config bytes themselves live in the blob store. The image ID shown to users is the
config digest (its first 12 hex characters).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

from geedocker import reference as refs
from geedocker.digest import Digest
from geedocker.errors import ImageInUse, ImageNotFound, InvalidReference, StoreError
from geedocker.store.fsutil import atomic_write, file_lock
from geedocker.store.layout import Layout
from geedocker.values import value

# The manifests, configs and blobs load with the first record: ``images`` lists from images.json alone.
TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

    from geedocker.oci import ImageConfig, Manifest
    from geedocker.store.blobs import BlobStore


@value
class ImageRecord:
    """One local image: its manifest, config and the names that point at it."""

    manifest_digest: Digest
    manifest: Manifest
    config_digest: Digest
    config: ImageConfig
    tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    added: str
    size: int

    @property
    def id(self) -> Digest:
        return self.config_digest

    @property
    def short_id(self) -> str:
        return self.config_digest.short

    @property
    def chain_ids(self) -> list[Digest]:
        from geedocker.oci import chain_ids

        return chain_ids(self.config.diff_ids)

    @property
    def layer_digests(self) -> list[Digest]:
        return [layer.digest for layer in self.manifest.layers]


@value
class ImageSummary:
    """An image as ``images`` lists it."""

    manifest_digest: Digest
    config_digest: Digest
    tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    created: str
    size: int  # unpacked where known, else compressed (``ImageStore.layers_size``)

    @property
    def id(self) -> Digest:
        return self.config_digest


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _json_kind(v: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number")


def normalize_name(name: str) -> str:
    """``busybox`` -> ``docker.io/library/busybox:latest``; ``x@sha256:..`` kept with its digest."""
    r = refs.parse(name)
    return str(r)


@value
class ImageUsers:
    """What containers use, as ``rmi`` needs it: (image id, container id) for running containers and for all
    of them, and the layer directories (overlay lower dirs) any container mounts."""

    running: tuple[tuple[str, str], ...] = ()
    containers: tuple[tuple[str, str], ...] = ()
    layer_dirs: tuple[str, ...] = ()


@contextmanager
def users_lock(layout: Layout, *, shared: bool = False) -> Iterator[None]:
    """Held shared by a container's creation from the check of its layers to its record, and exclusively by
    ``rmi`` from reading what containers use to deleting layers: ``rmi`` racing ``run`` never leaves a
    container on deleted layers (either ``rmi`` sees its record, or the new container sees the layers gone)."""
    with file_lock(layout.lock("image-users"), shared=shared):
        yield


class ImageStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._blobs: BlobStore | None = None

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            from geedocker.store.blobs import BlobStore

            self._blobs = BlobStore(self.layout)
        return self._blobs

    # --- the index file -------------------------------------------------------------------------
    def read_index(self) -> dict[str, Any]:
        """``images.json`` as it is now (one read; written atomically, so never half): tags and image infos."""
        return self._read()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.layout.images_file.read_bytes())
        except FileNotFoundError:
            return {"version": 1, "tags": {}, "images": {}}
        except ValueError as e:
            raise StoreError(f"{self.layout.images_file} is corrupt: {e}") from e
        except OSError as e:
            raise StoreError(f"reading {self.layout.images_file}: {e.strerror}") from e
        if not isinstance(data, dict):
            raise StoreError(f"{self.layout.images_file} is corrupt: expected a JSON object, found {_json_kind(data)}")
        for key in ("tags", "images"):
            data.setdefault(key, {})
            if not isinstance(data[key], dict):
                raise StoreError(f"{self.layout.images_file} is corrupt: {key!r} is {_json_kind(data[key])}, "
                                 "not an object")
        return data

    @contextmanager
    def _edit(self) -> Iterator[dict[str, Any]]:
        with file_lock(self.layout.lock("images")):
            data = self._read()
            yield data
            atomic_write(self.layout.images_file, json.dumps(data, indent=1, sort_keys=True).encode())

    # --- records --------------------------------------------------------------------------------
    def _record(self, data: dict[str, Any], mdigest: str) -> ImageRecord:
        from geedocker.oci import ImageConfig, Manifest

        info = data["images"][mdigest]
        md = Digest.parse(mdigest)
        manifest = Manifest.from_bytes(self.blobs.read_bytes(md))
        cd = Digest.parse(info["config"])
        config = ImageConfig.from_bytes(self.blobs.read_bytes(cd))
        tags = tuple(sorted(t for t, m in data["tags"].items() if m == mdigest))
        return ImageRecord(
            manifest_digest=md,
            manifest=manifest,
            config_digest=cd,
            config=config,
            tags=tags,
            repo_digests=tuple(info.get("repo_digests", [])),
            added=str(info.get("added", "")),
            size=int(info.get("size", 0)),
        )

    def add(
        self,
        manifest_digest: Digest,
        config_digest: Digest,
        name: str | None,
        repo_digest: str | None = None,
        size: int = 0,
        index_digest: Digest | None = None,
    ) -> ImageRecord:
        """Record an image whose manifest, config and layers are already in the store; tag it."""
        if not self.blobs.has(manifest_digest) or not self.blobs.has(config_digest):
            raise StoreError(f"image {manifest_digest}: manifest or config blob missing from the store")
        with self._edit() as data:
            key = str(manifest_digest)
            info = data["images"].setdefault(
                key, {"config": str(config_digest), "added": _now(), "repo_digests": [], "size": size}
            )
            info["config"] = str(config_digest)
            if size:
                info["size"] = size
            if index_digest is not None and str(index_digest) not in info.setdefault("indexes", []):
                info["indexes"].append(str(index_digest))
            if repo_digest and repo_digest not in info["repo_digests"]:
                info["repo_digests"].append(repo_digest)
            if name:
                data["tags"][name] = key
            rec = self._record(data, key)
            # what ``images`` shows, so that listing reads this file alone (see ``summaries``)
            info["created"] = rec.config.created
            size, unpacked = self.layers_size(rec)
            if unpacked:
                info["unpacked_size"] = size
            else:
                info.pop("unpacked_size", None)
            return rec

    def layers_size(self, rec: ImageRecord) -> tuple[int, bool]:
        """The image's size: its layers unpacked where they are, else compressed; and whether all of them were."""
        from geedocker.store.layers import LayerStore

        layers = LayerStore(self.layout)
        total, unpacked = 0, True
        for chain, desc in zip(rec.chain_ids, rec.manifest.layers, strict=False):
            try:
                total += layers.size(chain)
            except StoreError:  # a layer without metadata counts its compressed size
                total += desc.size
                unpacked = False
        return total, unpacked

    def summaries(self) -> list[ImageSummary]:
        """What ``images`` lists, from ``images.json`` alone (one read) for images recorded with their creation
        time and unpacked size; older records (and images with a layer not unpacked) read their blobs."""
        data = self._read()
        out = []
        for m in sorted(data["images"]):
            info = data["images"][m]
            tags = tuple(sorted(t for t, d in data["tags"].items() if d == m))
            created, size = info.get("created"), info.get("unpacked_size")
            if not isinstance(created, str) or not isinstance(size, int):
                rec = self._record(data, m)
                created, size = rec.config.created, self.layers_size(rec)[0]
            out.append(ImageSummary(Digest.parse(m), Digest.parse(info["config"]), tags,
                                    tuple(info.get("repo_digests", [])), created, size))
        return out

    def records(self) -> list[ImageRecord]:
        data = self._read()
        return [self._record(data, m) for m in sorted(data["images"])]

    def _find(self, data: dict[str, Any], name: str) -> str:
        """The manifest digest key for ``name``: a tag, a name@digest, or an image ID (prefix)."""
        if refs.looks_like_id(name):
            hexpart = name.removeprefix("sha256:")
            hits = {m for m, info in data["images"].items() if info["config"].split(":", 1)[1].startswith(hexpart)}
            hits |= {m for m in data["images"] if m.split(":", 1)[1].startswith(hexpart) and len(hexpart) == 64}
            if len(hits) == 1:
                return str(hits.pop())
            if len(hits) > 1:
                raise ImageNotFound(f"image ID {name!r} is ambiguous: it matches {len(hits)} images")
        try:
            r = refs.parse(name)
        except InvalidReference as e:
            if refs.looks_like_id(name):
                raise ImageNotFound(f"No such image: {name}") from e
            raise
        if r.digest is not None:
            for m, info in data["images"].items():
                if m == str(r.digest) or f"{r.repository}@{r.digest}" in info.get("repo_digests", []):
                    return str(m)
            raise ImageNotFound(f"No such image: {name}")
        key = str(r)
        if key in data["tags"]:
            return str(data["tags"][key])
        raise ImageNotFound(f"No such image: {name}")

    def resolve(self, name: str) -> ImageRecord:
        data = self._read()
        return self._record(data, self._find(data, name))

    def exists(self, name: str) -> bool:
        try:
            self.resolve(name)
        except (ImageNotFound, InvalidReference):
            return False
        return True

    def tag(self, source: str, target: str) -> ImageRecord:
        r = refs.parse(target)
        if r.digest is not None:
            raise InvalidReference(f"refusing to create a tag with a digest reference: {target}")
        with self._edit() as data:
            key = self._find(data, source)
            data["tags"][str(r)] = key
            return self._record(data, key)

    def remove(self, name: str, *, force: bool = False, users: ImageUsers | None = None) -> list[str]:
        """``rmi``: untag ``name``; delete the image when no tag is left (or ``force``).

        Returns docker-style lines ("Untagged: ...", "Deleted: sha256:..."). Blobs and layers that
        another image or any container still uses stay. ``users``: what containers use, read under
        ``users_lock`` (``remove_image`` does both). An image a running container uses is refused, also
        with ``force``; one a stopped container uses is refused, or with ``force`` only untagged.
        """
        users = users or ImageUsers()
        out: list[str] = []
        with self._edit() as data:
            key = self._find(data, name)
            info = data["images"][key]
            image_id = info["config"]
            short = Digest.parse(image_id).hex[:12]
            tags = [t for t, m in data["tags"].items() if m == key]
            try:  # a tag to remove, or (when it is no tag) an ID or a digest
                named: str | None = str(refs.parse(name))
            except InvalidReference:
                named = None
            if named is not None and named in data["tags"] and len(tags) > 1:
                # other names stay: only this one goes, whoever uses the image (``-f`` too, as docker's)
                del data["tags"][named]
                return [f"Untagged: {refs.parse(named).familiar()}"]
            running = dict(users.running).get(image_id)
            if running:
                raise ImageInUse(f"conflict: unable to delete {short} (cannot be forced) - image is being used by "
                                 f"running container {running[:12]}")
            container = dict(users.containers).get(image_id)
            if container and not force:
                raise ImageInUse(f"conflict: unable to remove repository reference \"{name}\" (must force) - "
                                 f"container {container[:12]} is using its referenced image {short}")
            if named is not None and named in data["tags"]:
                del data["tags"][named]
                out.append(f"Untagged: {refs.parse(named).familiar()}")
                tags.remove(named)
                if container:
                    return out  # docker rmi -f NAME: the stopped container keeps the image, without this name
            elif len(tags) > 1 and not force:
                raise ImageInUse(
                    f"unable to delete {name} (must be forced): image is referenced in multiple repositories"
                )
            for t in tags:
                del data["tags"][t]
                out.append(f"Untagged: {refs.parse(t).familiar()}")
            if container:  # a stopped container keeps the image, untagged (docker rmi -f)
                return out
            for rd in info.get("repo_digests", []):
                out.append(f"Untagged: {rd}")
            del data["images"][key]
            out.append(f"Deleted: {image_id}")
            self._collect(data, Digest.parse(key), Digest.parse(image_id), info.get("indexes", []),
                          users.layer_dirs)
        return out

    def _collect(
        self, data: dict[str, Any], manifest_digest: Digest, config_digest: Digest, indexes: list[str],
        container_layers: tuple[str, ...] = (),
    ) -> None:
        """Delete the blobs and unpacked layers of a removed image that no other image and no container uses."""
        from geedocker.oci import ImageConfig, Manifest, chain_ids
        from geedocker.store.layers import LayerStore

        manifest = Manifest.from_bytes(self.blobs.read_bytes(manifest_digest))
        config = ImageConfig.from_bytes(self.blobs.read_bytes(config_digest))
        keep_blobs: set[Digest] = set()
        keep_chains: set[Digest] = set()
        for m, info in data["images"].items():
            md = Digest.parse(m)
            try:
                other = Manifest.from_bytes(self.blobs.read_bytes(md))
                ocfg = ImageConfig.from_bytes(self.blobs.read_bytes(Digest.parse(info["config"])))
            except StoreError:
                continue
            keep_blobs |= {md, other.config.digest, *(layer.digest for layer in other.layers)}
            keep_blobs |= {Digest.parse(i) for i in info.get("indexes", [])}
            keep_chains |= set(chain_ids(ocfg.diff_ids))
        layers = LayerStore(self.layout)
        in_containers = set(container_layers)
        for chain in chain_ids(config.diff_ids):
            if chain not in keep_chains and str(self.layout.layer_diff(chain)) not in in_containers:
                layers.remove(chain)
        own = [manifest_digest, config_digest, *(layer.digest for layer in manifest.layers)]
        for d in own + [Digest.parse(i) for i in indexes]:
            if d not in keep_blobs:
                self.blobs.delete(d)
