"""Images made here, of a parent's layers plus new ones whose blobs are in the store already.

``import``, ``commit`` and the builder end here: a ``ComposedImage`` is the new config (run config, diff_ids,
history) and manifest over those layers, written into the store by ``images.writer.store_image`` as pulled and
loaded images are (the new layers unpacked once, keyed by chain id), recorded and tagged when names are given.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence

from geedocker.archive.writer import LayerBlob
from geedocker.digest import Digest
from geedocker.images.image import BlobReader, Image
from geedocker.images.writer import store_image
from geedocker.oci import ContainerConfig, Descriptor, ImageConfig, Manifest, MediaType, Platform, canonical_json
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageRecord, normalize_name
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout
from geedocker.values import replace, value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@value
class Base:
    """What a new image starts from: the parent's layers (descriptors and diff_ids) and history."""

    layers: tuple[Descriptor, ...] = ()
    diff_ids: tuple[Digest, ...] = ()
    history: tuple[dict[str, Any], ...] = ()
    platform: Platform | None = None

    @classmethod
    def of(cls, rec: ImageRecord | None) -> Base:
        if rec is None:
            return cls()
        cfg = rec.config
        layers = tuple(  # the same gzip tar under the OCI name: the new manifest is an OCI one
            replace(d, media_type=MediaType.OCI_LAYER_GZIP.value) if d.media_type == MediaType.DOCKER_LAYER else d
            for d in rec.manifest.layers
        )
        return cls(layers, cfg.diff_ids, cfg.history, Platform(cfg.os, cfg.architecture, cfg.variant))

    def with_layer(self, blob: LayerBlob | None, history: dict[str, Any]) -> Base:
        """This base plus one step: a layer (or none: an ``empty_layer`` history entry)."""
        if blob is None:
            return Base(self.layers, self.diff_ids, (*self.history, {**history, "empty_layer": True}), self.platform)
        desc = Descriptor(MediaType.OCI_LAYER_GZIP.value, blob.digest, blob.size)
        return Base((*self.layers, desc), (*self.diff_ids, blob.diff_id), (*self.history, history), self.platform)


def register_layer(layout: Layout, diff_ids: Sequence[Digest], blob: LayerBlob) -> Digest:
    """Unpack a new layer blob on top of ``diff_ids`` (its parents) in the layer store; its chain id."""
    from geedocker.oci import chain_ids

    chain = chain_ids([*diff_ids, blob.diff_id])[-1]
    LayerStore(layout).unpack(chain, blob.diff_id, BlobStore(layout).path(blob.digest))
    return chain


class ComposedImage(Image):
    """An image made here: ``base``'s layers (in the store already) run as ``config`` (go-containerregistry's
    ``mutate``: layers appended, a config file set, the manifest made to match). The config and the manifest
    exist only in memory until ``images.writer.store_image`` puts them in the store."""

    def __init__(self, blobs: BlobStore, base: Base, config: ContainerConfig, *, created: str = "",
                 extra: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.store = blobs
        plat = base.platform or Platform.host()
        image_config = ImageConfig(
            architecture=plat.architecture,
            os=plat.os,
            variant=plat.variant,
            config=config,
            diff_ids=base.diff_ids,
            created=created or now(),
            history=base.history,
        )
        raw = image_config.to_json()
        raw.update(extra or {})
        self._config = canonical_json(raw)
        self._manifest = Manifest(
            media_type=MediaType.OCI_MANIFEST.value,
            config=Descriptor(MediaType.OCI_CONFIG.value, Digest.of(self._config), len(self._config)),
            layers=base.layers,
        )
        self._raw_manifest = canonical_json(self._manifest.to_json())

    def manifest_digest(self) -> Digest:
        return Digest.of(self._raw_manifest)

    def raw_manifest(self) -> bytes:
        return self._raw_manifest

    def manifest(self) -> Manifest:
        return self._manifest

    def raw_config(self) -> bytes:
        return self._config

    def open_blob(self, desc: Descriptor, offset: int = 0) -> BlobReader:
        if desc.digest == self._manifest.config.digest:
            return io.BytesIO(self._config[offset:])
        f = self.store.open(desc.digest)
        if offset:
            f.seek(offset)
        return f


def write_image(
    layout: Layout,
    base: Base,
    config: ContainerConfig,
    *,
    names: Sequence[str] = (),
    created: str = "",
    extra: dict[str, Any] | None = None,
) -> ImageRecord:
    """Write config and manifest for ``base`` run as ``config``; record the image under ``names``."""
    image = ComposedImage(BlobStore(layout), base, config, created=created, extra=extra)
    full = [normalize_name(n) for n in names]
    rec = store_image(layout, image, names=full)
    from geedocker.images import events

    for n in full:
        events.tagged(layout, rec, n)  # as docker's commit and build tag
    return rec
