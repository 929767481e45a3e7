"""Volumes and cp compared with docker itself (Debian's dockerd 20.10 on its own socket, docker's CLI 28).

The same image (content under /data, ``VOLUME /data``) goes to both; the same commands must print the same (times,
ids and host paths left out) and exit the same."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import GD
from tests.integration.test_docker_compat import Pair
from tests.support.dockerd import Dockerd, running_dockerd
from tests.support.layers import busybox_rootfs_entries, directory, file, layer_tar, symlink, tree_snapshot
from tests.support.registry import TestRegistry, push_test_image

pytestmark = [pytest.mark.root, pytest.mark.registry, pytest.mark.peers]


@pytest.fixture(scope="module")
def dockerd() -> Iterator[Dockerd]:
    with running_dockerd() as d:
        yield d


@pytest.fixture
def pair(dockerd: Dockerd, gd: GD, registry_http: TestRegistry) -> Iterator[Pair]:
    entries = busybox_rootfs_entries() + [
        directory("data", mode=0o750, uid=1000, gid=1000),
        file("data/f", "seed\n", mode=0o640, uid=1000, gid=1000),
        symlink("data/up", "../../../../etc"),
    ]
    push_test_image(registry_http, "compat/vol", "1", [layer_tar(entries)],
                    config_overrides={"config": {"Volumes": {"/data": {}}, "Cmd": ["sh"]}})  # fmt: skip
    image = f"{registry_http.host}/compat/vol:1"
    p = Pair(dockerd, gd, image)
    for run in (p.docker, p.gd):
        assert run("pull", "-q", image).returncode == 0
    yield p
    for run in (p.docker, p.gd):
        run("rm", "-f", "-v", "v1", "v2", "v3")
        for v in ("named", "lab"):
            run("volume", "rm", "-f", v)
        run("rmi", "-f", image)


def _mounts(text: str) -> list[dict[str, object]]:
    out = []
    for m in json.loads(text):
        m = {k: v for k, v in m.items() if k not in ("Source",)}
        if len(str(m.get("Name", ""))) == 64:
            m["Name"] = "<anonymous>"
        out.append(m)
    return sorted(out, key=lambda m: str(m["Destination"]))


def test_volumes_like_docker(pair: Pair) -> None:
    pair.same("volume", "create", "named")
    pair.same("volume", "create", "--label", "k=v", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "lab")
    keys = "{{.Name}} {{.Driver}} {{.Scope}} {{json .Labels}} {{json .Options}}"
    pair.same("volume", "inspect", "-f", keys, "named", "lab")
    pair.same("volume", "ls", "-q", "--filter", "label=k")
    pair.same("volume", "create", "a/b")
    pair.same("volume", "create", "x")
    pair.same("volume", "rm", "nosuch")
    for run in (pair.docker, pair.gd):
        r = run("run", "--network", "none", "--name", "v1", "-v", "named:/data", pair.image, "ls", "-ln", "/data")
        assert r.returncode == 0, r.stderr
    pair.same("run", "--rm", "--network", "none", "-v", "named:/data", pair.image, "cat", "/data/f")
    d, g = pair.both("volume", "rm", "named")
    assert (d.returncode, g.returncode) == (1, 1) and "volume is in use" in d.stderr and "volume is in use" in g.stderr
    for run in (pair.docker, pair.gd):
        r = run("create", "--network", "none", "--name", "v2", "-v", "named:/x:ro", "-v", "/y",
                "--mount", "type=volume,source=lab,target=/z,readonly", "-v", "/tmp:/h:ro", pair.image)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert run("create", "--network", "none", "--name", "v3", "--volumes-from", "v2:ro", pair.image).returncode == 0
    for name in ("v2", "v3"):
        d, g = pair.both("container", "inspect", "-f", "{{json .Mounts}}", name)
        dm, gm = _mounts(d.stdout), _mounts(g.stdout)
        for m in dm + gm:
            if m["Type"] == "bind":
                m.pop("Propagation")  # docker shows the host mount's (rslave here), geedocker rprivate
        assert gm == dm, name
    pair.same("volume", "ls", "-q", "--filter", "dangling=true")


def test_cp_like_docker(pair: Pair, tmp_path: Path) -> None:
    host = tmp_path / "h"
    (host / "dir").mkdir(parents=True)
    (host / "dir" / "a").write_text("a\n")
    (host / "file").write_text("f\n")
    for run in (pair.docker, pair.gd):
        assert run("create", "--network", "none", "--name", "v1", pair.image).returncode == 0
    cases = [
        (str(host / "file"), "v1:/newfile"), (str(host / "file"), "v1:/nodir/"), (str(host / "dir"), "v1:/newdir"),
        (str(host / "dir") + "/.", "v1:/newdir"), (str(host / "dir"), "v1:/newfile"), ("v1:/nope", str(host)),
        ("v1:/data/f/", str(host / "x")),
    ]  # fmt: skip
    for src, dest in cases:
        d, g = pair.both("cp", src, dest)
        assert g.returncode == d.returncode, (src, dest, d.stderr, g.stderr)

    # out of the container into the host: the same trees (names, types, modes, owners, contents, link targets)
    d, g = pair.both("cp", "v1:/data", str(tmp_path / "out"))  # data/up points out of the destination
    assert (g.returncode, d.returncode) == (1, 1) and "invalid symlink" in g.stderr and "invalid symlink" in d.stderr
    for i, src in enumerate(("v1:/data/f", "v1:/newdir", "v1:/newdir/.", "v1:/newfile", "v1:/bin/sh")):
        d, g = pair.docker("cp", src, str(tmp_path / f"d{i}")), pair.gd("cp", src, str(tmp_path / f"g{i}"))
        assert d.returncode == g.returncode == 0, (src, d.stderr, g.stderr)
        dp, gp = tmp_path / f"d{i}", tmp_path / f"g{i}"
        if dp.is_dir() and not dp.is_symlink():
            assert tree_snapshot(gp, mtimes=False) == tree_snapshot(dp, mtimes=False), src
        else:
            assert gp.is_symlink() == dp.is_symlink() and (not dp.is_symlink() or os.readlink(gp) == os.readlink(dp))
