"""``run IMAGE``: a local image's layers and config (Entrypoint, Cmd, Env, WorkingDir, User) are used."""

from __future__ import annotations

import io
import json

import pytest

from geedocker.images.importer import import_rootfs
from tests.containers.conftest import Engine
from tests.support.layers import busybox_rootfs_entries, file, layer_tar

pytestmark = pytest.mark.root


@pytest.fixture
def image(engine: Engine) -> str:
    tar = layer_tar([*busybox_rootfs_entries(), file("srv/hello.txt", "hello from the image\n")])
    changes = (
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["echo default cmd; pwd; echo $GREETING"]',
        "ENV GREETING=hi",
        "WORKDIR /srv",
    )
    rec = import_rootfs(engine.layout, io.BytesIO(tar), "test/bb:1", changes=changes)
    return str(rec.id)


def test_run_an_image_with_its_config(engine: Engine, image: str) -> None:
    r = engine.cli("run", "--name", "img", "test/bb:1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "default cmd\n/srv\nhi\n"
    r = engine.cli("run", "--rm", "test/bb:1", "cat hello.txt")  # args replace Cmd, entrypoint stays
    assert r.stdout == "hello from the image\n"
    r = engine.cli("run", "--rm", "--entrypoint", "cat", "test/bb:1", "/srv/hello.txt")
    assert r.stdout == "hello from the image\n"
    info = json.loads(engine.cli("inspect", "img").stdout)[0]
    assert info["Image"] == image and info["Name"] == "/img" and info["State"]["ExitCode"] == 0
    assert info["Config"]["Entrypoint"] == ["/bin/sh", "-c"] and info["Config"]["WorkingDir"] == "/srv"
    assert engine.cli("ps", "-a", "--format", "{{.Image}}").stdout == "test/bb:1\n"


def test_rmi_refuses_an_image_in_use(engine: Engine, image: str) -> None:
    engine.cli("run", "--name", "user", "test/bb:1")
    r = engine.cli("rmi", "test/bb:1")
    assert r.returncode != 0
    engine.cli("rm", "user")
    assert engine.cli("rmi", "test/bb:1").returncode == 0


def test_rmi_f_keeps_what_containers_use(engine: Engine, image: str) -> None:
    """rmi -f: refused while a container runs on the image; once it stopped, the image is only untagged, and
    the container starts again on its layers."""
    r = engine.cli("run", "-d", "--name", "user", "--entrypoint", "sleep", "test/bb:1", "60")
    assert r.returncode == 0, r.stderr
    r = engine.cli("rmi", "-f", "test/bb:1")
    assert r.returncode == 1
    assert f"unable to delete {image[7:19]} (cannot be forced) - image is being used by running container" in r.stderr
    assert engine.cli("kill", "user").returncode == 0
    r = engine.cli("rmi", "-f", "test/bb:1")
    assert (r.returncode, r.stdout) == (0, "Untagged: test/bb:1\n")
    assert engine.cli("images", "-q").stdout.strip() == image[7:19]  # still there, without a name
    r = engine.cli("start", "user")
    assert r.returncode == 0, r.stderr
    assert engine.cli("exec", "user", "cat", "/srv/hello.txt").stdout == "hello from the image\n"
    engine.cli("rm", "-f", "user")
    r = engine.cli("rmi", image[7:19])
    assert r.returncode == 0 and r.stdout.endswith(f"Deleted: {image}\n")


def test_a_container_is_never_made_on_layers_rmi_removed(engine: Engine, image: str) -> None:
    from geedocker.containers import images
    from geedocker.containers.create import create
    from geedocker.containers.options import RunOptions
    from geedocker.errors import ContainerError

    source = images.from_image(engine.layout, "test/bb:1", pull="never")
    assert engine.cli("rmi", "test/bb:1").returncode == 0  # between the lookup and the container's record
    with pytest.raises(ContainerError, match="layer directory .* is missing"):
        create(engine.layout, source, RunOptions(command=("true",)))
    assert engine.ids() == []


def test_missing_image_with_pull_never(engine: Engine) -> None:
    r = engine.cli("run", "--pull", "never", "test/absent:1", "true")
    assert r.returncode == 125 and "No such image" in r.stderr
