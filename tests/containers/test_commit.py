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
    r = engine.cli("events", "--since", "1m", "--until", "0s", "--filter", "container=c1", "--filter", "event=export",
                   "--format", "{{.Action}} {{.Actor.Attributes.name}}")  # fmt: skip
    assert r.stdout == "export c1\n"  # as dockerd's


def test_commit_pauses_a_running_container_while_reading_it(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from geedocker.containers import commit as commits
    from geedocker.containers.control import cgroup_of
    from geedocker.containers.store import ContainerStore

    img = _image(engine)
    r = engine.cli("run", "-d", "--name", "busy", "--network", "none", img, "sh", "-c",
                   "while true; do date >> /tmp/log; done")
    assert r.returncode == 0, r.stderr
    rec = ContainerStore(engine.layout).resolve("busy")
    seen: list[bool] = []
    real = commits.upper_diff

    def watched(layout: object, c: object) -> object:
        seen.append(cgroup_of(rec).frozen())
        return real(layout, c)  # type: ignore[arg-type]

    monkeypatch.setattr(commits, "upper_diff", watched)
    try:
        commits.commit(engine.layout, "busy", "test/paused:1")
        assert seen == [True] and not cgroup_of(rec).frozen()  # frozen while read, running again after
        commits.commit(engine.layout, "busy", "test/unpaused:1", pause=False)
        assert seen == [True, False]
        assert engine.cli("pause", "busy").returncode == 0
        commits.commit(engine.layout, "busy", "test/paused2:1")
        assert seen[-1] is True and cgroup_of(rec).frozen()  # paused by the user: it stays paused
        assert engine.cli("unpause", "busy").returncode == 0
        r = engine.cli("commit", "--pause=maybe", "busy")
        assert r.returncode == 125 and "invalid argument" in r.stderr
    finally:
        engine.cli("rm", "-f", "busy")
