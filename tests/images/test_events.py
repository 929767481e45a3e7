"""Image events in the journal, written by the engine functions the CLI and the API share (docker's actors and
attributes: see ``geedocker.images.events``)."""

from __future__ import annotations

import io
from pathlib import Path

from geedocker.images.importer import import_rootfs
from geedocker.images.local import remove_image, tag_image
from geedocker.images.tarball import load, save
from geedocker.store import events
from geedocker.store.images import ImageUsers
from geedocker.store.layout import Layout
from tests.support.layers import file, gzip_bytes, layer_tar


def _events(layout: Layout) -> list[tuple[str, str, str, dict[str, str]]]:
    out = []
    for ev in events.read(layout):
        actor = ev["Actor"]
        assert isinstance(actor, dict)
        assert ev["status"] == ev["Action"] and ev["id"] == actor["ID"] and "from" not in ev  # docker's old fields
        out.append((str(ev["Type"]), str(ev["Action"]), str(actor["ID"]), dict(actor["Attributes"])))
    events.journal(layout).unlink(missing_ok=True)
    return out


def test_import_tag_untag_delete_save_load(layout: Layout, tmp_path: Path) -> None:
    tar = gzip_bytes(layer_tar([file("etc/hello", "hi")]))
    rec = import_rootfs(layout, io.BytesIO(tar), "test/app:1", changes=("LABEL tier=front",))
    iid = str(rec.config_digest)
    assert _events(layout) == [  # docker: the tag, then the import (named by the ID); the image's labels
        ("image", "tag", iid, {"name": "test/app:1", "tier": "front"}),
        ("image", "import", iid, {"name": iid, "tier": "front"}),
    ]
    tag_image(layout, "test/app:1", "docker.io/library/other:2")
    tag_image(layout, "test/app:1", "other:2")  # the same name again: docker tells it again
    assert _events(layout) == [("image", "tag", iid, {"name": "other:2", "tier": "front"})] * 2
    buf = io.BytesIO()
    save(layout, ["test/app:1", "other:2"], buf)  # one image under two names: one event
    assert _events(layout) == [("image", "save", iid, {"name": iid, "tier": "front"})]
    lines = remove_image(layout, "other:2", users=ImageUsers)
    assert lines == ["Untagged: other:2"]
    assert _events(layout) == [("image", "untag", iid, {"name": iid, "tier": "front"})]
    remove_image(layout, "test/app:1", users=ImageUsers)
    assert _events(layout) == [("image", "untag", iid, {"name": iid, "tier": "front"}),
                               ("image", "delete", iid, {"name": iid, "tier": "front"})]  # fmt: skip
    load(layout, io.BytesIO(buf.getvalue()))
    assert _events(layout) == [("image", "load", iid, {"name": iid, "tier": "front"})]  # no tag events, as docker
    tag_image(layout, "test/app:1", "third:3")
    events.journal(layout).unlink()
    remove_image(layout, iid, users=ImageUsers, force=True)  # by ID: every tag goes, one untag each
    got = _events(layout)
    assert [a for _, a, _, _ in got] == ["untag", "untag", "untag", "delete"]


def test_image_prune_logs_the_deletes_then_the_prune(layout: Layout) -> None:
    from geedocker.containers import prune

    tar = gzip_bytes(layer_tar([file("etc/hello", "hi")]))
    rec = import_rootfs(layout, io.BytesIO(tar), None)  # untagged: dangling
    iid = str(rec.config_digest)
    _events(layout)
    pruned = prune.images(layout, {})
    assert pruned.deleted == (f"Deleted: {iid}",)
    raw = list(events.read(layout))
    assert [(e["Type"], e["Action"]) for e in raw] == [("image", "delete"), ("image", "prune")]
    assert raw[1]["Actor"] == {"ID": "", "Attributes": {"reclaimed": str(pruned.reclaimed)}} and "id" not in raw[1]
