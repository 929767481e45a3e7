"""geedocker.images.compose: an image made here (a base's layers, a new config) is an ``Image`` like any other."""

from __future__ import annotations

import io
import json

from geedocker.digest import Digest
from geedocker.images.compose import Base, ComposedImage, write_image
from geedocker.images.importer import import_rootfs
from geedocker.oci import ContainerConfig, MediaType, Platform
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageStore
from geedocker.store.layout import Layout
from tests.support.layers import file, gzip_bytes, layer_tar


def test_a_composed_image_holds_its_config_and_manifest_in_memory_and_reads_its_layers_from_the_store(
    layout: Layout,
) -> None:
    parent = import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar([file("f", "x")]))), "base:1")
    blobs = BlobStore(layout)
    before = set(blobs.all())
    base = Base.of(parent).with_layer(None, {"created_by": "nothing"})
    img = ComposedImage(blobs, base, ContainerConfig(cmd=("sh",)), created="2026-01-01T00:00:00Z",
                        extra={"container": "abc"})  # fmt: skip
    assert set(blobs.all()) == before  # nothing written yet
    cfg = json.loads(img.raw_config())
    assert cfg["container"] == "abc" and cfg["config"]["Cmd"] == ["sh"] and cfg["created"] == "2026-01-01T00:00:00Z"
    assert cfg["history"][-1] == {"created_by": "nothing", "empty_layer": True}
    m = img.manifest()
    assert m.media_type == MediaType.OCI_MANIFEST.value
    assert m.config.digest == Digest.of(img.raw_config()) and img.manifest_digest() == Digest.of(img.raw_manifest())
    assert [d.digest for d in m.layers] == parent.layer_digests
    with img.open_blob(m.config, 2) as f:
        assert f.read() == img.raw_config()[2:]
    with img.open_blob(m.layers[0]) as f:
        assert f.read() == blobs.read_bytes(m.layers[0].digest)
    assert img.config().os == (parent.config.os or Platform.host().os)


def test_write_image_stores_it_through_the_writer_and_tags_it(layout: Layout) -> None:
    parent = import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar([file("f", "x")]))), None)
    base = Base.of(parent)
    img = ComposedImage(BlobStore(layout), base, ContainerConfig(), created="2026-01-01T00:00:00Z")
    rec = write_image(layout, base, ContainerConfig(), names=["made:1"], created="2026-01-01T00:00:00Z")
    assert rec.manifest_digest == img.manifest_digest() and rec.tags == ("docker.io/library/made:1",)
    assert BlobStore(layout).read_bytes(rec.manifest_digest) == img.raw_manifest()
    assert ImageStore(layout).resolve("made:1").config_digest == rec.config_digest
