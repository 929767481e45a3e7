"""Volumes on real kernels and files: seeding from the image (owners, modes, xattrs, links), sharing, --volumes-from,
run --rm and rm -v with anonymous volumes, volume rm while in use, tmpfs volumes, inspect's Mounts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from geedocker.volumes.store import VolumeStore
from tests.containers.conftest import Engine, mounts_under
from tests.support.layers import busybox_rootfs_entries, directory, file, hardlink, layer_tar, symlink, tree_snapshot

pytestmark = pytest.mark.root

NONE = ("--network", "none")


def data_entries() -> list:  # type: ignore[type-arg]
    return [
        directory("data", mode=0o750, uid=1000, gid=1000),
        file("data/secret", "s3cret\n", mode=0o4710, uid=1000, gid=2000, xattrs={"user.kind": "seed"}),
        hardlink("data/again", "data/secret"),
        symlink("data/up", "../../../etc/passwd"),
        directory("data/sub", mode=0o1777, uid=7, gid=8),
        file("data/sub/f", "inner\n", mode=0o600, uid=7, gid=8),
    ]


@pytest.fixture
def image(engine: Engine, tmp_path: Path) -> str:
    """``vimg``: busybox with content under /data and ``VOLUME /data``."""
    tar = layer_tar(busybox_rootfs_entries() + data_entries())
    r = subprocess.run(engine.argv("import", "-c", "VOLUME /data", "-c", 'CMD ["sh"]', "-", "vimg"), input=tar,
                       capture_output=True, env=engine.env, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return "vimg"


def volumes(engine: Engine) -> list[str]:
    return engine.cli("volume", "ls", "-q").stdout.split()


def image_data(engine: Engine) -> dict[str, tuple[object, ...]]:
    """The /data of the image as its layer dir holds it."""
    (layer,) = [p for p in (engine.layout.root / "layers").iterdir() if (p / "diff" / "data").is_dir()]
    return tree_snapshot(layer / "diff" / "data")


def test_anonymous_volume_is_seeded_from_the_image_and_goes_with_rm(engine: Engine, image: str) -> None:
    r = engine.cli("run", *NONE, "--name", "seeded", image, "sh", "-c", "echo new > /data/g; stat -c '%a %u:%g' /data")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "750 1000:1000\n"  # the mount point's owner and mode go onto the volume's root
    (name,) = volumes(engine)
    data = VolumeStore(engine.layout).data(name)
    snap = tree_snapshot(data)
    del snap["g"]
    assert snap == image_data(engine)  # files, modes, owners, mtimes, xattrs, the hard link, the symlink as is
    assert os.readlink(data / "up") == "../../../etc/passwd"
    mounts = json.loads(engine.cli("container", "inspect", "seeded").stdout)[0]["Mounts"]
    assert mounts == [{"Type": "volume", "Name": name, "Source": str(data), "Destination": "/data", "Driver": "local",
                       "Mode": "", "RW": True, "Propagation": ""}]  # fmt: skip
    rm = engine.cli("volume", "rm", name)
    assert rm.returncode == 1 and f"remove {name}: volume is in use - [" in rm.stderr
    assert engine.cli("rm", "-v", "seeded").returncode == 0
    assert volumes(engine) == []


def test_named_volume_shared_between_containers(engine: Engine, image: str) -> None:
    r = engine.cli("run", "-d", *NONE, "--name", "writer", "-v", "shared:/data", image, "sh", "-c",
                   "echo hello > /data/msg; sleep 30")  # fmt: skip
    assert r.returncode == 0, r.stderr
    vdata = VolumeStore(engine.layout).data("shared")
    engine.wait_for("the writer", lambda: (vdata / "msg").exists())
    r = engine.cli(
        "run", "--rm", *NONE, "-v", "shared:/srv:ro", image, "sh", "-c", "cat /srv/msg /srv/secret; touch /srv/x"
    )
    assert r.stdout == "hello\ns3cret\n" and "Read-only file system" in r.stderr and r.returncode == 1
    r = engine.cli("run", "--rm", *NONE, "--volumes-from", "writer:ro", image, "cat", "/data/msg")
    assert r.stdout == "hello\n", r.stderr
    r = engine.cli("run", "--rm", *NONE, "--volumes-from", "writer", image, "sh", "-c", "echo back > /data/back")
    assert r.returncode == 0 and (vdata / "back").read_text() == "back\n"
    assert engine.cli("rm", "-f", "-v", "writer").returncode == 0
    assert volumes(engine) == ["shared"]  # rm -v takes anonymous volumes only
    assert engine.cli("volume", "rm", "shared").stdout == "shared\n"


def test_run_rm_removes_anonymous_volumes_and_nocopy(engine: Engine, image: str) -> None:
    r = engine.cli(
        "run", "--rm", *NONE, "-v", "/extra", "-v", "keep:/data:nocopy", image, "ls", "-A", "/data", "/extra"
    )
    assert r.returncode == 0 and r.stdout == "/data:\n\n/extra:\n", r.stdout  # nocopy: not seeded
    assert volumes(engine) == ["keep"]
    r = engine.cli(
        "run", "--rm", *NONE, "--mount", "type=volume,target=/data,volume-nocopy", image, "ls", "-A", "/data"
    )
    assert r.returncode == 0 and r.stdout == ""
    assert volumes(engine) == ["keep"]


def test_tmpfs_volume_is_mounted_while_in_use(engine: Engine, image: str) -> None:
    assert (
        engine.cli("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=2m", "tv").returncode
        == 0
    )
    data = VolumeStore(engine.layout).data("tv")
    r = engine.cli("run", "--rm", *NONE, "-v", "tv:/data", image, "sh", "-c", "df -k /data | tail -1; cat /data/secret")
    assert r.returncode == 0, r.stderr
    fs, blocks = r.stdout.split()[:2]
    assert fs == "tmpfs" and blocks == "2048" and r.stdout.endswith("s3cret\n")
    assert str(data) not in mounts_under(data.parent)  # unmounted when its last container went
    assert engine.cli("volume", "rm", "tv").returncode == 0


def test_run_flag_errors(engine: Engine, image: str) -> None:
    r = engine.cli("run", "--rm", *NONE, "--volumes-from", "ghost", image, "true")
    assert r.returncode == 125 and "No such container: ghost" in r.stderr
    r = engine.cli(
        "run", "--rm", *NONE, "--mount", "type=volume,source=bad,target=/x,volume-opt=type=ext4", image, "true"
    )
    assert r.returncode == 125 and "device" in r.stderr
    assert volumes(engine) == [] and engine.ids() == []
