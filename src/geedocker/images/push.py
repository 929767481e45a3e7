"""Push: upload what the registry lacks (a HEAD per blob first, cross-repository mount where offered),
then the manifest."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from geedocker import reference as refs
from geedocker.digest import Digest
from geedocker.errors import UsageError
from geedocker.logger import get_logger
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
    blobs = BlobStore(layout)
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
        descs = [record.manifest.config, *record.manifest.layers]
        uploaded = skipped = 0

        def one(desc_digest: Digest, size: int) -> bool:
            with blobs.open(desc_digest) as f:
                sent = client.upload_blob(ref.path, desc_digest, size, f, mount_from=mount_from)
            say(f"{desc_digest.short}: {'Pushed' if sent else 'Layer already exists'}")
            return sent

        with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(descs)))) as pool:
            for did in pool.map(lambda d: one(d.digest, d.size), descs):
                if did:
                    uploaded += 1
                else:
                    skipped += 1
        data = blobs.read_bytes(record.manifest_digest)
        digest = client.put_manifest(ref.path, ref.tag or "latest", data, record.manifest.media_type)
        store.add(record.manifest_digest, record.config_digest, None, repo_digest=f"{ref.repository}@{digest}")
        from geedocker.images import events

        events.by_reference(layout, record, "push", ref)
        return PushResult(ref, digest, len(data), uploaded, skipped)
    finally:
        if own_client:
            with contextlib.suppress(Exception):
                client.close()
