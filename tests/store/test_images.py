"""The image records: tags, IDs, rmi rules (docker's)."""

from __future__ import annotations

import io

import pytest

from geedocker.errors import ImageInUse, ImageNotFound
from geedocker.images.importer import import_rootfs
from geedocker.store.images import ImageStore, ImageUsers
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


def test_forced_rmi_of_one_of_several_names_only_untags_it(layout: Layout) -> None:
    iid = image(layout, "app:1")
    store = ImageStore(layout)
    store.tag("app:1", "app:2")
    assert store.remove("app:1", force=True) == ["Untagged: app:1"]  # as docker's rmi -f NAME
    assert store.resolve(iid).tags == ("docker.io/library/app:2",)


CID = "c" * 64


def test_rmi_refuses_an_image_a_stopped_container_uses_unless_forced(layout: Layout) -> None:
    iid = image(layout, "app:1")
    users = ImageUsers(containers=((iid, CID),))
    with pytest.raises(ImageInUse, match=r'unable to remove repository reference "app:1" \(must force\) - container '
                                         f"cccccccccccc is using its referenced image {iid[7:19]}"):
        ImageStore(layout).remove("app:1", users=users)
    assert ImageStore(layout).exists("app:1")


def test_rmi_never_removes_an_image_a_running_container_uses(layout: Layout) -> None:
    iid = image(layout, "app:1")
    users = ImageUsers(running=((iid, CID),), containers=((iid, CID),))
    for force in (False, True):
        with pytest.raises(ImageInUse, match=f"conflict: unable to delete {iid[7:19]} \\(cannot be forced\\) - "
                                             "image is being used by running container cccccccccccc"):
            ImageStore(layout).remove("app:1", users=users, force=force)
    assert ImageStore(layout).exists("app:1")


def test_forced_rmi_of_an_image_a_stopped_container_uses_only_untags_it(layout: Layout) -> None:
    iid = image(layout, "app:1")
    store = ImageStore(layout)
    (chain,) = store.resolve("app:1").chain_ids
    users = ImageUsers(containers=((iid, CID),), layer_dirs=(str(layout.layer_diff(chain)),))
    assert store.remove("app:1", users=users, force=True) == ["Untagged: app:1"]
    assert store.resolve(iid).tags == () and layout.layer_diff(chain).is_dir()
    # the container gone, the untagged image goes as usual
    assert store.remove(iid) == [f"Deleted: {iid}"]
    assert not layout.layer_diff(chain).exists()


def test_a_layer_a_container_mounts_is_kept_when_its_image_goes(layout: Layout) -> None:
    iid = image(layout, "app:1")
    store = ImageStore(layout)
    (chain,) = store.resolve("app:1").chain_ids
    users = ImageUsers(layer_dirs=(str(layout.layer_diff(chain)),))  # e.g. a container made from another name
    assert store.remove("app:1", users=users) == ["Untagged: app:1", f"Deleted: {iid}"]
    assert layout.layer_diff(chain).is_dir()


def test_remove_image_asks_the_containers_under_the_lock_creation_takes(layout: Layout) -> None:
    import fcntl
    import os

    from geedocker.images.local import remove_image

    image(layout, "app:1")
    held = []

    def users() -> ImageUsers:
        fd = os.open(layout.lock("image-users"), os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            held.append(False)
        except BlockingIOError:
            held.append(True)  # a container being created waits until rmi is done
        finally:
            os.close(fd)
        return ImageUsers()

    assert remove_image(layout, "app:1", users=users)[-1].startswith("Deleted: ")
    assert held == [True]


def test_images_are_listed_from_images_json_alone(layout: Layout) -> None:
    """``summaries`` (what ``images`` shows) needs no blob: the creation time and unpacked size are recorded."""
    import json

    from geedocker.images.local import image_size, list_images
    from geedocker.store.blobs import BlobStore

    rec = import_rootfs(layout, io.BytesIO(layer_tar([file("a", "x" * 5000)])), "sum/a:1")
    store = ImageStore(layout)
    expected = image_size(layout, rec)
    assert expected > 5000  # the unpacked tar stream, not the compressed blob
    doc = json.loads(layout.images_file.read_bytes())
    info = doc["images"][str(rec.manifest_digest)]
    assert info["created"] == rec.config.created and info["unpacked_size"] == expected
    blobs = BlobStore(layout)
    saved = {d: blobs.path(d).read_bytes() for d in (rec.manifest_digest, rec.config_digest)}
    for d in saved:
        blobs.path(d).unlink()
    [row] = list_images(layout)
    assert (row.repository, row.tag, row.id, row.created, row.size) == (
        "sum/a", "1", str(rec.id), rec.config.created, expected)
    # a record written before these fields (or with a layer not unpacked) reads its blobs, with the same answer
    for d, data in saved.items():
        blobs.path(d).write_bytes(data)
    del info["created"], info["unpacked_size"]
    layout.images_file.write_text(json.dumps(doc))
    [again] = store.summaries()
    assert (again.created, again.size, again.tags) == (rec.config.created, expected, ("docker.io/sum/a:1",))
