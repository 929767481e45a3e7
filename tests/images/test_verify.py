"""geedocker.images.verify: the deep check of a store's blobs, images and layers, and its repairs."""

from __future__ import annotations

from geedocker.images.pull import pull
from geedocker.images.verify import check
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageStore
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout
from tests.images.test_pull import REPO, client_for, two_layers
from tests.registry.fakes import FakeRegistry
from tests.support.registry import build_and_push


def _pulled(layout: Layout) -> tuple[FakeRegistry, str]:
    fake = FakeRegistry()
    build_and_push(client_for(fake), REPO, "1", two_layers())
    name = f"{fake.host}/{REPO}:1"
    pull(layout, name, client=client_for(fake))
    return fake, name


def _flip(layout: Layout, digest: object) -> None:
    path = layout.blob(digest)  # type: ignore[arg-type]
    data = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(bytes([data[0] ^ 1]) + data[1:])


def test_a_whole_store_has_nothing_to_report(layout: Layout) -> None:
    _pulled(layout)
    assert check(layout) == []


def test_a_damaged_layer_blob_is_found_and_pulled_again(layout: Layout) -> None:
    fake, name = _pulled(layout)
    rec = ImageStore(layout).resolve(name)
    layer = rec.manifest.layers[0].digest
    _flip(layout, layer)
    found = check(layout)
    assert [d.line for d in found] == [f"image {name}: layer blob {layer}: its bytes do not match its digest"]
    assert not found[0].repaired
    pulled: list[str] = []

    def again(ref: str) -> None:
        pulled.append(ref)
        pull(layout, ref, client=client_for(fake))

    repaired = check(layout, repair=True, pull=again)
    assert [d.repaired for d in repaired] == [True]
    assert pulled == [f"{fake.host}/{REPO}@{rec.manifest_digest}"]  # by digest: the same bytes or none
    assert check(layout) == []


def test_without_a_registry_to_pull_from_a_damaged_image_stays_reported(layout: Layout) -> None:
    _, name = _pulled(layout)
    rec = ImageStore(layout).resolve(name)
    _flip(layout, rec.config_digest)
    repaired = check(layout, repair=True, pull=None)
    assert [(d.line, d.repaired) for d in repaired] == [
        (f"image {name}: config blob {rec.config_digest}: its bytes do not match its digest", False)]
    assert not BlobStore(layout).has(rec.config_digest)  # the damaged bytes are gone: nothing reads them
    assert [d.line for d in check(layout)] == [f"image {name}: config blob {rec.config_digest} is missing"]


def test_a_missing_layer_is_unpacked_anew_from_its_blob_without_a_pull(layout: Layout) -> None:
    _, name = _pulled(layout)
    rec = ImageStore(layout).resolve(name)
    chain = rec.chain_ids[1]
    assert LayerStore(layout).remove(chain)
    found = check(layout, repair=True, pull=None)
    assert [(d.line, d.repaired) for d in found] == [(f"image {name}: layer {chain} is not unpacked", True)]
    assert LayerStore(layout).has(chain) and check(layout) == []


def test_a_damaged_blob_no_image_uses_is_reported_and_removed(layout: Layout) -> None:
    blobs = BlobStore(layout)
    d = blobs.put_bytes(b"orphan bytes")
    _flip(layout, d)
    assert [(x.line, x.repaired) for x in check(layout)] == [(f"blob {d}: its bytes do not match its digest", False)]
    assert [x.repaired for x in check(layout, repair=True)] == [True]
    assert not blobs.has(d) and check(layout) == []
