"""The image records: tags, IDs, rmi rules (docker's)."""

from __future__ import annotations

import io

import pytest

from geedocker.errors import ImageInUse, ImageNotFound
from geedocker.images.importer import import_rootfs
from geedocker.store.images import ImageStore
from geedocker.store.layout import Layout
from tests.support.layers import file, layer_tar


def image(layout: Layout, name: str, content: str = "x") -> str:
    return str(import_rootfs(layout, io.BytesIO(layer_tar([file("f", content)])), name).id)


def test_resolve_by_tag_short_id_and_full_id(layout: Layout) -> None:
    iid = image(layout, "app:1")
    store = ImageStore(layout)
    assert str(store.resolve("app:1").id) == iid
    assert str(store.resolve(iid.removeprefix("sha256:")[:12]).id) == iid
    assert str(store.resolve(iid).id) == iid
    with pytest.raises(ImageNotFound):
        store.resolve("app:2")


def test_rmi_of_one_of_two_tags_only_untags(layout: Layout) -> None:
    iid = image(layout, "app:1")
    store = ImageStore(layout)
    store.tag("app:1", "other:latest")
    assert store.remove("other") == ["Untagged: other:latest"]
    assert store.resolve("app:1").tags == ("docker.io/library/app:1",)
    assert store.remove("app:1") == ["Untagged: app:1", f"Deleted: {iid}"]
    assert store.records() == []


def test_rmi_by_id_of_a_many_tagged_image_must_be_forced(layout: Layout) -> None:
    iid = image(layout, "app:1")
    store = ImageStore(layout)
    store.tag("app:1", "app:2")
    with pytest.raises(ImageInUse, match="must be forced"):
        store.remove(iid[7:19])
    lines = store.remove(iid[7:19], force=True)
    assert lines[-1] == f"Deleted: {iid}" and len(lines) == 3


def test_rmi_refuses_an_image_in_use(layout: Layout) -> None:
    iid = image(layout, "app:1")
    with pytest.raises(ImageInUse, match="used by a container"):
        ImageStore(layout).remove("app:1", in_use=frozenset({iid}))
    assert ImageStore(layout).exists("app:1")
