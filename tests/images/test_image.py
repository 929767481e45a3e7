"""geedocker.images.image: the one image shape, over the local store and over a registry (the in-memory one)."""

from __future__ import annotations

import hashlib

from geedocker import reference as refs
from geedocker.images.image import LocalImage, RemoteImage
from geedocker.images.pull import pull
from geedocker.oci import Platform
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageStore
from geedocker.store.layout import Layout
from tests.images.test_pull import REPO, client_for, two_layers
from tests.registry.fakes import FakeRegistry
from tests.support.registry import build_and_push, push_index


def test_a_remote_image_resolves_its_index_for_the_platform_and_caches_what_it_fetched(layout: Layout) -> None:
    fake = FakeRegistry()
    pushed = push_index(client_for(fake), REPO, "multi")
    arm = pushed.images["linux/arm64/v8"]
    blobs = BlobStore(layout)
    arm_platform = Platform.parse("linux/arm64/v8")
    img = RemoteImage(client_for(fake), refs.parse(f"{fake.host}/{REPO}:multi"), blobs, arm_platform)
    assert img.top_digest() == pushed.digest
    assert img.manifest_digest() == arm.digest
    assert img.raw_manifest() == arm.manifest
    assert img.raw_config() == arm.config and img.fetched_bytes == len(arm.config)
    assert [d.digest for d in img.blobs()] == [arm.config_digest, *(d.digest for d in arm.layers)]
    assert blobs.has(pushed.digest) and blobs.has(arm.digest) and blobs.has(arm.config_digest)

    # a second look by digest asks the registry nothing; by tag, one HEAD
    fake.requests.clear()
    again = RemoteImage(client_for(fake), refs.parse(f"{fake.host}/{REPO}@{arm.digest}"), blobs)
    assert again.manifest_digest() == arm.digest and again.raw_config() == arm.config
    assert again.fetched_bytes == 0 and fake.requests == []
    by_tag = RemoteImage(client_for(fake), refs.parse(f"{fake.host}/{REPO}:multi"), blobs,
                         Platform.parse("linux/arm64/v8"))  # fmt: skip
    assert by_tag.manifest_digest() == arm.digest
    assert [r.method for r in fake.requests if "/manifests/" in r.url] == ["HEAD"]


def test_a_remote_images_blob_streams_from_an_offset(layout: Layout) -> None:
    fake = FakeRegistry()
    pushed = build_and_push(client_for(fake), REPO, "1", two_layers())
    img = RemoteImage(client_for(fake), refs.parse(f"{fake.host}/{REPO}:1"), BlobStore(layout))
    layer = img.manifest().layers[0]
    with img.open_blob(layer) as f:
        whole = f.read()
    assert hashlib.sha256(whole).hexdigest() == layer.digest.hex == pushed.layers[0].digest.hex
    with img.open_blob(layer, 10) as f:
        assert f.read() == whole[10:]
    with img.open_blob(layer, layer.size) as f:
        assert f.read() == b""


def test_a_local_image_gives_the_same_manifest_config_and_blobs_as_the_registry_had(layout: Layout) -> None:
    fake = FakeRegistry()
    pushed = build_and_push(client_for(fake), REPO, "1", two_layers())
    pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))
    img = LocalImage(BlobStore(layout), ImageStore(layout).resolve(f"{fake.host}/{REPO}:1"))
    assert img.manifest_digest() == pushed.digest and img.raw_manifest() == pushed.manifest
    assert img.raw_config() == pushed.config and img.config().diff_ids == pushed.diff_ids
    for desc in img.blobs():
        with img.open_blob(desc) as f:
            data = f.read()
        assert len(data) == desc.size and hashlib.sha256(data).hexdigest() == desc.digest.hex
    with img.open_blob(img.manifest().config, 5) as f:
        assert f.read() == pushed.config[5:]
