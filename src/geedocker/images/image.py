"""The image shape that pull, push and save walk: a manifest, its config and its layers as descriptors, each
blob's bytes opened only when asked for (go-containerregistry's ``v1.Image``, containerd's content store).

``LocalImage`` is an image of the store; ``RemoteImage`` one of a registry (its manifest resolved for a
platform, kept in the store as it is fetched, so a second look asks the registry nothing); ``images.tarimage``
has the images of a ``docker save``/OCI archive, ``images.compose`` the images made here (import, commit, build).
A command that copies an image from one place to another asks the source for its blobs and does not care where
they live: push reads a ``LocalImage``, save writes one to an archive, and every image that comes into the store
(pulled, loaded, imported, committed, built) goes in through ``images.writer.store_image``.
"""

from __future__ import annotations

import io
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from geedocker import oci
from geedocker import reference as refs
from geedocker.digest import Digest
from geedocker.errors import ManifestError, NotFoundError
from geedocker.logger import get_logger
from geedocker.oci import Descriptor, ImageConfig, Index, Manifest, Platform
from geedocker.store.blobs import BlobStore

if TYPE_CHECKING:
    from geedocker.registry import RegistryClient
    from geedocker.store.images import ImageRecord

log = get_logger(__name__)


class BlobReader(Protocol):
    """A blob's bytes as a stream (a file of the store, a registry's response): read, then close."""

    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...

    def __enter__(self) -> BlobReader: ...

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None: ...


class Image:
    """An image: its manifest (digest, bytes, parsed), its config, and its blobs opened lazily."""

    def manifest_digest(self) -> Digest:
        raise NotImplementedError

    def raw_manifest(self) -> bytes:
        raise NotImplementedError

    def manifest(self) -> Manifest:
        raise NotImplementedError

    def open_blob(self, desc: Descriptor, offset: int = 0) -> BlobReader:
        """A stream of the blob's bytes from ``offset``; the caller closes it."""
        raise NotImplementedError

    def raw_config(self) -> bytes:
        desc = self.manifest().config
        if desc.size > oci.MAX_CONFIG_BYTES:
            raise ManifestError(f"image config {desc.digest} is too large ({desc.size} bytes)")
        with self.open_blob(desc) as f:
            return f.read(oci.MAX_CONFIG_BYTES + 1)

    def config(self) -> ImageConfig:
        return ImageConfig.from_bytes(self.raw_config())

    def blobs(self) -> list[Descriptor]:
        """The config and the layers: what a copy of the image must carry besides its manifest."""
        m = self.manifest()
        return [m.config, *m.layers]

    def index_blobs(self) -> list[tuple[Digest, bytes]]:
        """The indexes the manifest was chosen from, when a copy keeps them (an archive's); none by default
        (a ``RemoteImage`` keeps its own in the store as it fetches them)."""
        return []

    def describe(self, desc: Descriptor) -> str:
        """Where the blob comes from, to begin an error about its bytes with; empty when that says nothing."""
        return ""


class LocalImage(Image):
    """An image of the local store."""

    def __init__(self, blobs: BlobStore, record: ImageRecord) -> None:
        self.store = blobs
        self.record = record

    def manifest_digest(self) -> Digest:
        return self.record.manifest_digest

    def raw_manifest(self) -> bytes:
        return self.store.read_bytes(self.record.manifest_digest, oci.MAX_MANIFEST_BYTES)

    def manifest(self) -> Manifest:
        return self.record.manifest

    def config(self) -> ImageConfig:
        return self.record.config

    def open_blob(self, desc: Descriptor, offset: int = 0) -> BlobReader:
        f = self.store.open(desc.digest)
        if offset:
            f.seek(offset)
        return f


class RemoteImage(Image):
    """An image in a registry: ``ref`` resolved (an index for ``platform``, the host's by default) on first use.

    Manifests and the config go into ``cache`` (the store's blobs) as they are fetched, and are read from there
    when present: a manifest asked for by digest is never fetched twice, and one by tag costs a ``HEAD``."""

    def __init__(self, client: RegistryClient, ref: refs.Reference, cache: BlobStore,
                 platform: Platform | None = None) -> None:  # fmt: skip
        self.client = client
        self.ref = ref
        self.cache = cache
        self.platform = platform
        self.fetched_bytes = 0  # config bytes fetched (manifests aside), for the pull's summary
        self._resolved: tuple[Digest, Digest, bytes, Manifest] | None = None

    def _manifest_bytes(self, ident: str) -> tuple[Digest, bytes, str]:
        """(digest, bytes, media type) of a manifest or index, from the cache if it has it."""
        if ident.startswith("sha256:"):
            d = Digest.parse(ident)
            if self.cache.has(d):
                data = self.cache.read_bytes(d, oci.MAX_MANIFEST_BYTES)
                return d, data, oci.detect_media_type(data, None)
        else:
            head = self.client.head_manifest(self.ref.path, ident)
            if head is None:
                raise NotFoundError(f"manifest unknown: {self.ref.familiar()} not found in {self.ref.domain}")
            if self.cache.has(head.digest):
                data = self.cache.read_bytes(head.digest, oci.MAX_MANIFEST_BYTES)
                return head.digest, data, oci.detect_media_type(data, head.media_type)
        fetched = self.client.get_manifest(self.ref.path, ident)
        self.cache.put_bytes(fetched.data, fetched.digest)
        return fetched.digest, fetched.data, oci.detect_media_type(fetched.data, fetched.media_type)

    def _resolve(self) -> tuple[Digest, Digest, bytes, Manifest]:
        if self._resolved is None:
            top, data, media_type = self._manifest_bytes(self.ref.identifier)
            mdigest = top
            if media_type in oci.INDEX_TYPES:
                want = self.platform or Platform.host()
                child = Index.from_bytes(data, media_type).select(want)
                log.debug("index %s: chose %s for %s", top, child.digest, want)
                mdigest, data, media_type = self._manifest_bytes(str(child.digest))
                if media_type in oci.INDEX_TYPES:
                    raise ManifestError(f"{self.ref.familiar()}: nested indexes are not supported")
            self._resolved = (top, mdigest, data, Manifest.from_bytes(data, media_type))
        return self._resolved

    def top_digest(self) -> Digest:
        """The digest the reference names: the index's for a multi-platform image, else the manifest's."""
        return self._resolve()[0]

    def manifest_digest(self) -> Digest:
        return self._resolve()[1]

    def raw_manifest(self) -> bytes:
        return self._resolve()[2]

    def manifest(self) -> Manifest:
        return self._resolve()[3]

    def raw_config(self) -> bytes:
        desc = self.manifest().config
        if not self.cache.has(desc.digest):
            if desc.size > oci.MAX_CONFIG_BYTES:
                raise ManifestError(f"image config {desc.digest} is too large ({desc.size} bytes)")
            data = self.client.get_blob_bytes(self.ref.path, desc.digest, oci.MAX_CONFIG_BYTES)
            self.cache.put_bytes(data, desc.digest)
            self.fetched_bytes += len(data)
        return self.cache.read_bytes(desc.digest, oci.MAX_CONFIG_BYTES)

    def open_blob(self, desc: Descriptor, offset: int = 0) -> BlobReader:
        """The blob from the registry, resumed with ``Range`` when the connection breaks; empty when ``offset``
        is already its size (a killed pull left it all behind)."""
        if offset >= desc.size:
            return io.BytesIO()
        from geedocker.registry import ResumingBlobReader  # here: the download path loads it when it needs it

        return ResumingBlobReader(self.client, self.ref.path, desc.digest, size=desc.size, offset=offset)
