"""Write an image made of a parent's layers plus new ones: the layers' blobs are in the store already.

``commit`` and the builder end here: the new config (run config, diff_ids, history) and manifest are
written as blobs, the new layers are unpacked once (keyed by chain id, as pulled ones), and the image is
recorded (and tagged, when names are given).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from geedocker.archive.writer import LayerBlob
from geedocker.digest import Digest
from geedocker.oci import ContainerConfig, Descriptor, ImageConfig, Manifest, MediaType, Platform, canonical_json
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageRecord, ImageStore, normalize_name
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
    blobs = BlobStore(layout)
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
    config_bytes = canonical_json(raw)
    config_digest = blobs.put_bytes(config_bytes)
    manifest = Manifest(
        media_type=MediaType.OCI_MANIFEST.value,
        config=Descriptor(MediaType.OCI_CONFIG.value, config_digest, len(config_bytes)),
        layers=base.layers,
    )
    manifest_digest = blobs.put_bytes(canonical_json(manifest.to_json()))
    size = len(config_bytes) + sum(d.size for d in base.layers)
    store = ImageStore(layout)
    rec = store.add(manifest_digest, config_digest, name=None, size=size)
    from geedocker.images import events

    for n in names:
        rec = store.add(manifest_digest, config_digest, name=normalize_name(n), size=size)
        events.tagged(layout, rec, normalize_name(n))  # as docker's commit and build tag
    return rec
