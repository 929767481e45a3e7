"""Put an ``Image`` into the local store: the one writer that pull, load, import, commit and build end in
(go-containerregistry's ``layout.Write``: any image in, wherever its blobs come from).

The layers go first (each blob copied into the store, verified, then unpacked under its chain id), then the
config and the manifest, then the record and its names: the store never has a manifest whose blobs are missing,
and a failure leaves no record. What comes in with the image (its indexes) is kept beside it. How one layer
gets in is the caller's to choose: the default copies the blob, then unpacks it; pull streams it from the
registry and unpacks it as it downloads (``images.pull``), several at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from geedocker import oci
from geedocker.digest import Digest
from geedocker.errors import ManifestError, VerificationError
from geedocker.images.image import Image
from geedocker.oci import Descriptor, ImageConfig, Manifest
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageRecord, ImageStore
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout

if TYPE_CHECKING:
    import threading

# Put one layer into the store: (image, its descriptor, its chain id, its diff id).
LayerFn = Callable[[Image, Descriptor, Digest, Digest], None]


def layer_chains(manifest: Manifest, config: ImageConfig, label: str = "") -> list[Digest]:
    """The chain ids of the manifest's layers; an error (begun with ``label``) when the config's diff ids do not
    match them one for one."""
    if len(config.diff_ids) != len(manifest.layers):
        raise ManifestError(
            f"{label + ': ' if label else ''}manifest has {len(manifest.layers)} layers but the config lists "
            f"{len(config.diff_ids)} diff_ids"
        )
    return oci.chain_ids(config.diff_ids)


class CopyLayer:
    """The default way a layer gets in: its blob copied from the image (unless the store has it), verified
    against its digest and size, then unpacked (unless it is)."""

    def __init__(self, layout: Layout) -> None:
        self.blobs = BlobStore(layout)
        self.layers = LayerStore(layout)

    def __call__(self, image: Image, desc: Descriptor, chain: Digest, diff_id: Digest) -> None:
        if not self.blobs.has(desc.digest):
            try:
                with image.open_blob(desc) as f:
                    self.blobs.put_stream(f, desc.digest, desc.size)  # type: ignore[arg-type]
            except VerificationError as e:
                where = image.describe(desc)
                if not where:
                    raise
                raise VerificationError(f"{where}: {e}") from e
        if not self.layers.has(chain):
            self.layers.unpack(chain, diff_id, self.blobs.path(desc.digest))


def _each_layer(put: LayerFn, image: Image, todo: list[tuple[Descriptor, Digest, Digest]], max_parallel: int,
                cancel: threading.Event | None) -> None:  # fmt: skip
    """``put`` every layer: one after the other in this thread; or, for a writer that can be cancelled, in a pool
    of ``max_parallel`` threads (one at least), so that Ctrl-C ends the command at once whatever they wait for."""
    if cancel is None:
        for desc, chain, diff_id in todo:
            put(image, desc, chain, diff_id)
        return
    if not todo:
        return
    workers = max(1, min(max_parallel, len(todo)))
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait  # threads only for a parallel writer

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pull")
    futures = [pool.submit(put, image, desc, chain, diff_id) for desc, chain, diff_id in todo]
    try:
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for f in [*(f for f in finished if f.exception() is not None), *futures]:
            f.result()  # the first failure (if any) is raised here, then the others are cancelled
    except KeyboardInterrupt:
        # Ctrl-C: a worker may sit in a read from a registry that went silent (until the stall deadline);
        # the command ends now and leaves its partial downloads in ingest/ for the next pull to resume
        cancel.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    except BaseException:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def store_image(
    layout: Layout,
    image: Image,
    *,
    names: Sequence[str] = (),
    repo_digest: str | None = None,
    index_digest: Digest | None = None,
    label: str = "",
    put_layer: LayerFn | None = None,
    max_parallel: int = 1,
    cancel: threading.Event | None = None,
) -> ImageRecord:
    """Write ``image`` (layers, config, manifest) into the store and record it under ``names`` (full references,
    normalized), with ``repo_digest`` and ``index_digest`` when it came from a registry; the record.

    ``label`` begins the error about a config that does not match the manifest; ``put_layer`` puts one layer in
    (``CopyLayer`` by default), one after the other; or, given ``cancel`` (set when one fails), ``max_parallel``
    at a time."""
    blobs = BlobStore(layout)
    manifest = image.manifest()
    raw_config = image.raw_config()
    config = ImageConfig.from_bytes(raw_config)
    chains = layer_chains(manifest, config, label)
    todo = list(zip(manifest.layers, chains, config.diff_ids, strict=True))
    _each_layer(put_layer or CopyLayer(layout), image, todo, max_parallel, cancel)
    mdigest = image.manifest_digest()
    for digest, data in [*image.index_blobs(), (manifest.config.digest, raw_config), (mdigest, image.raw_manifest())]:
        if not blobs.has(digest):
            blobs.put_bytes(data, digest)
    size = manifest.config.size + sum(d.size for d in manifest.layers)
    store = ImageStore(layout)
    rec = store.add(mdigest, manifest.config.digest, names[0] if names else None, repo_digest=repo_digest, size=size,
                    index_digest=index_digest)  # fmt: skip
    for name in names[1:]:
        rec = store.add(mdigest, manifest.config.digest, name, size=size)
    return rec
