"""``geedocker push`` and ``import`` against the real registry; a push/rmi/pull round trip."""

from __future__ import annotations

import io
import json

import pytest

from geedocker.images.importer import import_rootfs
from geedocker.images.pull import pull
from geedocker.images.push import push
from geedocker.store.images import ImageStore
from geedocker.store.layout import Layout
from tests.integration.conftest import GD
from tests.support.layers import busybox_rootfs_entries, file, layer_tar
from tests.support.registry import TestRegistry

pytestmark = pytest.mark.registry


def test_push_skips_what_the_registry_has_and_mounts_across_repos(
    layout: Layout, registry_http: TestRegistry
) -> None:
    name = f"{registry_http.host}/push/one:1"
    import_rootfs(layout, io.BytesIO(layer_tar([file("hello", "world")])), name)
    cfg = registry_http.config()
    first = push(layout, name, config=cfg)
    assert (first.blobs_uploaded, first.blobs_skipped) == (2, 0)
    again = push(layout, name, config=cfg)
    assert (again.blobs_uploaded, again.blobs_skipped) == (0, 2)
    assert again.digest == first.digest
    # the same image under another repository: blobs come by cross-repository mount or are uploaded
    other = push(layout, name, destination=f"{registry_http.host}/push/two:1", config=cfg)
    assert other.digest == first.digest
    with registry_http.client() as c:
        head = c.head_manifest("push/two", "1")
    assert head is not None and head.digest == first.digest


def test_import_push_rmi_pull_round_trip(registry_http: TestRegistry, gd: GD, tmp_path: object) -> None:
    from pathlib import Path

    tmp = Path(str(tmp_path))
    tar = tmp / "rootfs.tar"
    tar.write_bytes(layer_tar(busybox_rootfs_entries()))
    name = f"{registry_http.host}/demo/busybox:latest"
    r = gd("import", "-c", 'CMD ["/bin/sh"]', str(tar), name)
    assert r.returncode == 0, r.stderr
    image_id = r.stdout.strip()
    r = gd("push", name)
    assert r.returncode == 0, r.stderr
    assert "digest: sha256:" in r.stdout
    assert gd("rmi", name).returncode == 0
    assert gd("images", "-q").stdout.strip() == ""
    r = gd("pull", name)
    assert r.returncode == 0, r.stderr
    info = json.loads(gd("inspect", name).stdout)[0]
    assert info["Id"] == image_id
    assert info["Config"]["Cmd"] == ["/bin/sh"]


def test_pull_after_push_is_up_to_date(layout: Layout, registry_http: TestRegistry) -> None:
    name = f"{registry_http.host}/push/cached:1"
    import_rootfs(layout, io.BytesIO(layer_tar([file("x", "y")])), name)
    push(layout, name, config=registry_http.config())
    with registry_http.client() as c:
        res = pull(layout, name, client=c)
    assert res.up_to_date
    assert ImageStore(layout).resolve(name).id == res.record.id
