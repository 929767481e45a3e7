"""Pull: resolve a reference -> fetch the manifest (and index) -> fetch and unpack layers in parallel.

Every blob is verified while it streams (size and digest); layers are unpacked while they download (the
bytes flow registry -> ingest file + decompressor -> tar applier), each into its own lower dir keyed by
chain ID, so layers unpack in parallel and out of order. A pull whose blobs are all present asks the
registry only for the tag's current digest (HEAD) and downloads nothing. The image goes into the store
through ``images.writer.store_image`` (as loaded, imported and built ones do), with this module's way of
putting one layer in: streamed from the registry, unpacked as it downloads.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO, Protocol

from geedocker import reference as refs
from geedocker.digest import Digest
from geedocker.errors import (
    ArchiveError,
    GeeDockerError,
    PlatformError,
    VerificationError,
)
from geedocker.images.image import Image, RemoteImage
from geedocker.images.writer import layer_chains, store_image
from geedocker.logger import get_logger
from geedocker.oci import Descriptor, ImageConfig, Platform
from geedocker.store.blobs import CHUNK, BlobStore, Ingest
from geedocker.store.images import ImageRecord, ImageStore
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout
from geedocker.values import value

if TYPE_CHECKING:
    from geedocker.registry import RegistryClient, RegistryConfig

log = get_logger(__name__)


class LayerStatus(StrEnum):
    WAITING = "Waiting"
    DOWNLOADING = "Downloading"
    EXISTS = "Already exists"
    EXTRACTING = "Extracting"
    DONE = "Pull complete"


@value
class ProgressEvent:
    layer: str  # the blob's short digest
    status: LayerStatus
    current: int = 0
    total: int = 0


ProgressFn = Callable[[ProgressEvent], None]


@value
class PullOptions:
    platform: Platform | None = None
    max_parallel: int = 4
    registry_config: RegistryConfig | None = None


@value
class PullResult:
    reference: refs.Reference
    record: ImageRecord
    digest: Digest  # what the reference resolved to in the registry (an index or a manifest)
    blobs_downloaded: int
    bytes_downloaded: int

    @property
    def up_to_date(self) -> bool:
        return self.blobs_downloaded == 0


class PullCancelled(GeeDockerError):
    exit_code = 130


class _Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.blobs = 0
        self.bytes = 0

    def add(self, n: int) -> None:
        with self.lock:
            self.bytes += n


NET_CHUNK = 128 * 1024


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class _Tee:
    """The bytes of one blob for the unpacker, downloaded by a second thread.

    The download thread reads ``src`` (a registry stream), appends every byte to ``ingest`` and hands the
    same chunks to the reader through a bounded queue, so network, hashing and disk writes overlap with
    decompression and extraction while memory stays bounded (``max_chunks`` x ``NET_CHUNK``). Reads from
    the network are small so that a connection that breaks loses little: the resuming reader continues
    from the last byte it delivered. A resumed download
    first replays the bytes already in the ingest file (so an unpacker sees the whole blob).
    """

    def __init__(
        self,
        src: _Readable,
        ingest: Ingest,
        prefix: BinaryIO | None,
        on_bytes: Callable[[int], None],
        cancel: threading.Event,
        max_chunks: int = 64,
    ) -> None:
        self.src = src
        self.ingest = ingest
        self.prefix = prefix
        self.prefix_left = ingest.offset if prefix is not None else 0
        self.on_bytes = on_bytes
        self.cancel = cancel
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=max_chunks)
        self.error: BaseException | None = None
        self.stopped = threading.Event()
        self.buf = memoryview(b"")
        self.eof = False
        self.thread = threading.Thread(target=self._download, name="pull-download", daemon=True)
        self.thread.start()

    def _put(self, item: bytes | None) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _download(self) -> None:
        try:
            while not self.stopped.is_set():
                if self.cancel.is_set():
                    raise PullCancelled("pull cancelled")
                data = self.src.read(NET_CHUNK)
                if not data:
                    break
                self.ingest.write(data)
                self.on_bytes(len(data))
                if not self._put(data):
                    return
        except BaseException as e:  # handed to the reader, raised there
            self.error = e
        finally:
            self._put(None)

    def read(self, n: int = -1, /) -> bytes:
        if self.cancel.is_set():
            raise PullCancelled("pull cancelled")
        if self.prefix is not None:
            # only the bytes that were there before: the download thread appends to the same file
            want = min(n if n > 0 else CHUNK, self.prefix_left)
            data = self.prefix.read(want) if want > 0 else b""
            if data:
                self.prefix_left -= len(data)
                return data
            self.prefix.close()
            self.prefix = None
        if not self.buf:
            if self.eof:
                return b""
            item = self.queue.get()
            if item is None:
                self.eof = True
                self.thread.join()
                if self.error is not None:
                    raise self.error
                return b""
            self.buf = memoryview(item)
        if n < 0 or n >= len(self.buf):
            out, self.buf = self.buf, memoryview(b"")
        else:
            out, self.buf = self.buf[:n], self.buf[n:]
        return out.tobytes()

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def close(self) -> None:
        """Stop the download thread (if still running) and wait for it."""
        self.stopped.set()
        self.thread.join()
        if self.prefix is not None:
            self.prefix.close()
            self.prefix = None

    def readable(self) -> bool:
        return True


class Puller:
    def __init__(
        self,
        layout: Layout,
        *,
        options: PullOptions | None = None,
        progress: ProgressFn | None = None,
        client: RegistryClient | None = None,
    ) -> None:
        self.layout = layout
        self.options = options or PullOptions()
        self.progress = progress or (lambda ev: None)
        self._client = client
        self.blobs = BlobStore(layout)
        self.images = ImageStore(layout)
        self.layers = LayerStore(layout)
        self.cancel = threading.Event()

    def _client_for(self, ref: refs.Reference) -> RegistryClient:
        if self._client is None:
            from geedocker.registry import RegistryClient, RegistryConfig

            self._client = RegistryClient(
                ref.registry_host, config=self.options.registry_config or RegistryConfig.from_env()
            )
        return self._client

    # --- layers -----------------------------------------------------------------------------------
    def _layer(self, image: Image, desc: Descriptor, chain: Digest, diff_id: Digest, stats: _Stats) -> None:
        short = desc.digest.short
        if self.blobs.has(desc.digest) and self.layers.has(chain):
            self.progress(ProgressEvent(short, LayerStatus.EXISTS, desc.size, desc.size))
            return
        if desc.urls and not self.blobs.has(desc.digest):
            log.debug("layer %s has foreign URLs; fetching from the registry", desc.digest)
        with self.blobs.ingest(desc.digest, desc.size) as ing:
            if not ing.done:
                self._download(image, desc, chain, diff_id, ing, stats)
                return
        if not self.layers.has(chain):
            self.progress(ProgressEvent(short, LayerStatus.EXTRACTING, 0, desc.size))
            self.layers.unpack(chain, diff_id, self.blobs.path(desc.digest))
        self.progress(ProgressEvent(short, LayerStatus.DONE, desc.size, desc.size))

    def _download(
        self, image: Image, desc: Descriptor, chain: Digest, diff_id: Digest, ing: Ingest, stats: _Stats,
    ) -> None:
        short = desc.digest.short
        offset = ing.open()
        done = [offset]

        def on_bytes(n: int) -> None:
            done[0] += n
            stats.add(n)
            self.progress(ProgressEvent(short, LayerStatus.DOWNLOADING, done[0], desc.size))

        self.progress(ProgressEvent(short, LayerStatus.DOWNLOADING, offset, desc.size))
        with image.open_blob(desc, offset) as reader:  # empty when a killed pull left it all behind
            unpack = not self.layers.has(chain)
            tee = _Tee(reader, ing, ing.read_prefix() if (unpack and offset) else None, on_bytes, self.cancel)
            try:
                if unpack:
                    try:
                        self.layers.unpack(chain, diff_id, tee)  # type: ignore[arg-type]
                    except (ArchiveError, VerificationError) as e:
                        # Bad bytes on the wire show up first as a broken archive: say which it was.
                        self._blame_blob(tee, ing, e)
                        raise
                    try:
                        tee.drain()
                        ing.commit()
                    except BaseException:
                        if self.layers.has(chain) and not self.blobs.has(desc.digest):
                            self.layers.remove(chain)
                        raise
                else:
                    tee.drain()
                    ing.commit()
            finally:
                tee.close()
        with stats.lock:
            stats.blobs += 1
        self.progress(ProgressEvent(short, LayerStatus.DONE, desc.size, desc.size))

    def _blame_blob(self, tee: _Tee, ing: Ingest, err: GeeDockerError) -> None:
        """After an unpack failure: if the blob itself does not match its digest, raise that instead."""
        try:
            tee.drain()
        except GeeDockerError:
            ing.discard()
            return
        got = ing.current_digest()
        if got != ing.digest or (ing.size is not None and ing.offset != ing.size):
            ing.discard()
            raise VerificationError(
                f"blob {ing.digest}: downloaded bytes do not match (got {got}, {ing.offset} bytes): {err}"
            ) from err
        ing.discard()

    # --- the whole pull ---------------------------------------------------------------------------
    def pull(self, name: str) -> PullResult:
        ref = refs.parse(name)
        self.layout.ensure()
        self.blobs.sweep_ingest()
        client = self._client_for(ref)
        stats = _Stats()
        image = RemoteImage(client, ref, self.blobs, self.options.platform)
        top, mdigest, manifest = image.top_digest(), image.manifest_digest(), image.manifest()
        config = ImageConfig.from_bytes(image.raw_config())
        if image.fetched_bytes:
            stats.blobs += 1
            stats.bytes += image.fetched_bytes
        if self.options.platform is not None and config.os and config.architecture:
            got = Platform(config.os, config.architecture, config.variant)
            if not self.options.platform.matches(got):
                raise PlatformError(
                    f"{ref.familiar()}: the image is for {got}, not the requested {self.options.platform}"
                )
        chains = layer_chains(manifest, config, ref.familiar())
        for layer, chain in zip(manifest.layers, chains, strict=True):
            if not (self.blobs.has(layer.digest) and self.layers.has(chain)):
                self.progress(ProgressEvent(layer.digest.short, LayerStatus.WAITING, 0, layer.size))

        def put_layer(img: Image, desc: Descriptor, chain: Digest, diff_id: Digest) -> None:
            self._layer(img, desc, chain, diff_id, stats)

        record = store_image(
            self.layout,
            image,
            names=[str(ref)] if ref.digest is None else [],
            repo_digest=f"{ref.repository}@{top}",
            index_digest=top if top != mdigest else None,
            label=ref.familiar(),
            put_layer=put_layer,
            max_parallel=self.options.max_parallel,
            cancel=self.cancel,
        )
        from geedocker.images import events

        events.by_reference(self.layout, record, "pull", ref)
        return PullResult(ref, record, top, stats.blobs, stats.bytes)


def pull(
    layout: Layout,
    name: str,
    *,
    options: PullOptions | None = None,
    progress: ProgressFn | None = None,
    client: RegistryClient | None = None,
) -> PullResult:
    """Pull ``name`` into the store at ``layout``; return what was pulled and how much was downloaded."""
    puller = Puller(layout, options=options, progress=progress, client=client)
    try:
        return puller.pull(name)
    finally:
        if client is None and puller._client is not None:
            with contextlib.suppress(Exception):
                puller._client.close()
