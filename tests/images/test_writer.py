"""geedocker.images.writer: any ``Image`` into the store (layers, config, manifest, record), one writer for all."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from geedocker.digest import Digest
from geedocker.errors import ManifestError, VerificationError
from geedocker.images.image import BlobReader, Image
from geedocker.images.writer import CopyLayer, store_image
from geedocker.oci import ContainerConfig, Descriptor, ImageConfig, Manifest, MediaType, canonical_json, chain_ids
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageStore
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout
from tests.support.layers import file, gzip_bytes, layer_tar


class MemImage(Image):
    """An image held in memory: what the writer sees of any source."""

    def __init__(self, layers: list[bytes], *, diff_ids: list[Digest] | None = None, where: str = "",
                 index: bytes | None = None) -> None:  # fmt: skip
        self.data: dict[Digest, bytes] = {}
        descs = []
        for blob in layers:
            d = Digest.of(blob)
            self.data[d] = blob
            descs.append(Descriptor(MediaType.OCI_LAYER_GZIP.value, d, len(blob)))
        if diff_ids is None:
            import gzip

            diff_ids = [Digest.of(gzip.decompress(b)) for b in layers]
        cfg = ImageConfig(architecture="amd64", os="linux", config=ContainerConfig(), diff_ids=tuple(diff_ids),
                          created="2026-01-01T00:00:00Z")
        self.config_bytes = canonical_json(cfg.to_json())
        cdesc = Descriptor(MediaType.OCI_CONFIG.value, Digest.of(self.config_bytes), len(self.config_bytes))
        self.data[cdesc.digest] = self.config_bytes
        self._manifest = Manifest(MediaType.OCI_MANIFEST.value, cdesc, tuple(descs))
        self._raw = canonical_json(self._manifest.to_json())
        self.where = where
        self.index = index
        self.opened: list[Digest] = []

    def manifest_digest(self) -> Digest:
        return Digest.of(self._raw)

    def raw_manifest(self) -> bytes:
        return self._raw

    def manifest(self) -> Manifest:
        return self._manifest

    def open_blob(self, desc: Descriptor, offset: int = 0) -> BlobReader:
        self.opened.append(desc.digest)
        return io.BytesIO(self.data[desc.digest][offset:])

    def index_blobs(self) -> list[tuple[Digest, bytes]]:
        return [(Digest.of(self.index), self.index)] if self.index is not None else []

    def describe(self, desc: Descriptor) -> str:
        return self.where


def _layers() -> list[bytes]:
    return [gzip_bytes(layer_tar([file("a", "one")])), gzip_bytes(layer_tar([file("b", "two")]))]


def test_an_image_goes_in_whole_and_is_recorded_under_its_names(layout: Layout) -> None:
    img = MemImage(_layers(), index=b'{"manifests":[]}')
    rec = store_image(layout, img, names=["docker.io/library/x:1", "docker.io/library/x:2"])
    blobs, layers = BlobStore(layout), LayerStore(layout)
    assert rec.manifest_digest == img.manifest_digest() and rec.config_digest == img.manifest().config.digest
    assert blobs.read_bytes(rec.manifest_digest) == img.raw_manifest()
    assert blobs.read_bytes(rec.config_digest) == img.config_bytes
    assert blobs.has(Digest.of(b'{"manifests":[]}'))  # the index it came with is kept beside it
    for desc in img.manifest().layers:
        assert blobs.read_bytes(desc.digest) == img.data[desc.digest]
    chains = chain_ids(rec.config.diff_ids)
    assert all(layers.has(c) for c in chains)
    assert (layers.diff_path(chains[1]) / "b").read_text() == "two"
    assert set(rec.tags) == {"docker.io/library/x:1", "docker.io/library/x:2"}
    assert rec.size == img.manifest().config.size + sum(d.size for d in img.manifest().layers)
    assert ImageStore(layout).resolve("x:2").manifest_digest == rec.manifest_digest

    # a second write copies no layer: every blob is there, every layer unpacked
    again = MemImage(_layers())
    store_image(layout, again, names=["docker.io/library/x:3"])
    assert again.opened == [again.manifest().config.digest]


def test_repo_and_index_digests_go_in_the_record(layout: Layout) -> None:
    img = MemImage(_layers())
    index = Digest.of(b"an index")
    store_image(layout, img, names=["r.example/x:1"], repo_digest=f"r.example/x@{index}", index_digest=index)
    info = ImageStore(layout).read_index()["images"][str(img.manifest_digest())]
    assert info["repo_digests"] == [f"r.example/x@{index}"] and info["indexes"] == [str(index)]


def test_a_config_that_does_not_match_the_layers_is_refused_before_anything_is_written(layout: Layout) -> None:
    img = MemImage(_layers(), diff_ids=[Digest.of(b"one only")])
    with pytest.raises(ManifestError, match="^r/x: manifest has 2 layers but the config lists 1 diff_ids$"):
        store_image(layout, img, label="r/x")
    with pytest.raises(ManifestError, match="^manifest has 2 layers"):
        store_image(layout, img)
    assert set(img.opened) == {img.manifest().config.digest}  # no layer read
    assert BlobStore(layout).all() == [] and ImageStore(layout).records() == []


def test_a_bad_layer_leaves_no_manifest_and_no_record_and_says_where_it_came_from(layout: Layout) -> None:
    img = MemImage(_layers(), where="some.tar: blobs/sha256/x")
    bad = img.manifest().layers[1]
    img.data[bad.digest] = img.data[bad.digest][:-1] + b"?"  # same size, other bytes
    where = f"^some.tar: blobs/sha256/x: blob digest mismatch: expected {bad.digest}"
    with pytest.raises(VerificationError, match=where):
        store_image(layout, img, names=["x:1"])
    blobs = BlobStore(layout)
    assert not blobs.has(img.manifest_digest()) and not blobs.has(img.manifest().config.digest)
    assert ImageStore(layout).records() == []
    img.where = ""  # an image with nothing to say: the store's own message
    with pytest.raises(VerificationError, match="^blob digest mismatch"):
        store_image(layout, img)


def test_a_cancellable_write_puts_layers_in_parallel_and_cancels_on_the_first_failure(layout: Layout,
                                                                                        tmp_path: Path) -> None:
    img = MemImage(_layers())
    threads: set[str] = set()
    copy = CopyLayer(layout)

    def put(image: Image, desc: Descriptor, chain: Digest, diff_id: Digest) -> None:
        threads.add(threading.current_thread().name)
        copy(image, desc, chain, diff_id)

    cancel = threading.Event()
    store_image(layout, img, put_layer=put, max_parallel=4, cancel=cancel)
    assert threads and all(t.startswith("pull") for t in threads) and not cancel.is_set()

    def fail(image: Image, desc: Descriptor, chain: Digest, diff_id: Digest) -> None:
        raise VerificationError("no")

    other = Layout(tmp_path / "other", tmp_path / "other-run")
    with pytest.raises(VerificationError, match="^no$"):
        store_image(other, MemImage(_layers()), put_layer=fail, max_parallel=2, cancel=cancel)
    assert cancel.is_set()
    assert ImageStore(other).records() == []


def test_the_default_writer_runs_in_the_callers_thread(layout: Layout) -> None:
    seen: list[str] = []
    copy = CopyLayer(layout)

    def put(image: Image, desc: Descriptor, chain: Digest, diff_id: Digest) -> None:
        seen.append(threading.current_thread().name)
        copy(image, desc, chain, diff_id)

    store_image(layout, MemImage(_layers()), put_layer=put)
    assert seen == [threading.current_thread().name] * 2
