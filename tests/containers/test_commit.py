"""commit, diff and export of real containers (root): commit then run the result, diff after deletes."""

from __future__ import annotations

import io
import tarfile

import pytest

from geedocker.images.importer import import_rootfs
from geedocker.store.images import ImageStore
from tests.containers.conftest import Engine
from tests.support.layers import busybox_rootfs_entries, gzip_bytes, layer_tar

pytestmark = pytest.mark.root


def _image(engine: Engine) -> str:
    tar = layer_tar(busybox_rootfs_entries())
    import_rootfs(engine.layout, io.BytesIO(gzip_bytes(tar)), "test/bb:1", changes=('CMD ["sh"]',))
    return "test/bb:1"


def test_diff_commit_run_export(engine: Engine) -> None:
    img = _image(engine)
    r = engine.cli("run", "--name", "c1", "--network", "none", "-e", "K=v", img,
                   "sh", "-c", "rm /etc/group && echo hi > /tmp/new && mkdir -p /opt/d && ln /tmp/new /opt/d/link")
    assert r.returncode == 0, r.stderr
    r = engine.cli("diff", "c1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["C /etc", "D /etc/group", "A /opt", "A /opt/d", "A /opt/d/link", "C /tmp",
                                     "A /tmp/new"]
    r = engine.cli("commit", "-c", "ENV X=1", "-c", 'CMD ["cat", "/opt/d/link"]', "-c", "VOLUME /data",
                   "-c", "ONBUILD RUN true", "-m", "msg", "-a", "me", "c1", "test/committed:1")
    assert r.returncode == 0, r.stderr
    rec = ImageStore(engine.layout).resolve("test/committed:1")
    assert str(rec.id) == r.stdout.strip()
    cfg = rec.config.config
    assert cfg.cmd == ("cat", "/opt/d/link")
    assert "X=1" in cfg.env and "K=v" in cfg.env
    assert cfg.volumes == ("/data",)
    assert cfg.get("OnBuild") == ["RUN true"]
    assert len(rec.config.diff_ids) == 2
    assert rec.config.history[-1]["comment"] == "msg"
    r = engine.cli("run", "--rm", "--network", "none", "test/committed:1")
    assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr
    r = engine.cli("run", "--rm", "--network", "none", "test/committed:1", "ls", "/etc")
    assert "group" not in r.stdout.split() and "passwd" in r.stdout.split()
    out = engine.layout.root.parent / "export.tar"
    r = engine.cli("export", "-o", str(out), "c1")
    assert r.returncode == 0, r.stderr
    with tarfile.open(out) as tf:
        m = {x.name: x for x in tf.getmembers()}
    assert "etc/group" not in m and "etc/passwd" in m and "bin/busybox" in m
    # one inode, two names: the first in the walk's order holds the data, the other links to it
    assert m["opt/d/link"].isfile() and m["tmp/new"].islnk() and m["tmp/new"].linkname == "opt/d/link"
