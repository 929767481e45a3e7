"""Push: upload what the registry lacks of a local image (a HEAD per blob first, cross-repository mount where
offered), then the manifest. The blobs come from the image (``images.image.LocalImage``), not from store paths."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from geedocker import reference as refs
from geedocker.digest import Digest
from geedocker.errors import UsageError
from geedocker.images.image import LocalImage
from geedocker.logger import get_logger
from geedocker.oci import Descriptor
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageStore
from geedocker.store.layout import Layout
from geedocker.values import value

if TYPE_CHECKING:
    from geedocker.registry import RegistryClient, RegistryConfig

log = get_logger(__name__)


@value
class PushResult:
    reference: refs.Reference
    digest: Digest
    size: int
    blobs_uploaded: int
    blobs_skipped: int


def push(
    layout: Layout,
    name: str,
    *,
    destination: str | None = None,
    config: RegistryConfig | None = None,
    client: RegistryClient | None = None,
    progress: Callable[[str], None] | None = None,
    max_parallel: int = 4,
) -> PushResult:
    """Push local image ``name`` to its registry (or to ``destination``, a full reference)."""
    store = ImageStore(layout)
    record = store.resolve(name)
    ref = refs.parse(destination or name)
    if ref.digest is not None and ref.tag is None:
        raise UsageError(f"cannot push to a digest reference {ref}; give a tag")
    say = progress or (lambda s: None)
    own_client = client is None
    if client is None:
        from geedocker.registry import RegistryClient, RegistryConfig

        client = RegistryClient(ref.registry_host, config=config or RegistryConfig.from_env())
    try:
        # a mount source: another repository of the same registry this image was pulled from
        mount_from = None
        for rd in record.repo_digests:
            other = refs.parse(rd)
            if other.domain == ref.domain and other.path != ref.path:
                mount_from = other.path
                break
        image = LocalImage(BlobStore(layout), record)
        descs = image.blobs()
        uploaded = skipped = 0

        def one(desc: Descriptor) -> bool:
            with image.open_blob(desc) as f:
                sent = client.upload_blob(ref.path, desc.digest, desc.size, f, mount_from=mount_from)
            say(f"{desc.digest.short}: {'Pushed' if sent else 'Layer already exists'}")
            return sent

        with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(descs)))) as pool:
            for did in pool.map(one, descs):
                if did:
                    uploaded += 1
                else:
                    skipped += 1
        data = image.raw_manifest()
        digest = client.put_manifest(ref.path, ref.tag or "latest", data, image.manifest().media_type)
        store.add(record.manifest_digest, record.config_digest, None, repo_digest=f"{ref.repository}@{digest}")
        from geedocker.images import events

        events.by_reference(layout, record, "push", ref)
        return PushResult(ref, digest, len(data), uploaded, skipped)
    finally:
        if own_client:
            with contextlib.suppress(Exception):
                client.close()
