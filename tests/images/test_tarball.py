"""save / load / import: round trips in geedocker, and with podman and skopeo (Debian packages)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from geedocker.errors import ArchiveError, VerificationError
from geedocker.images.importer import import_rootfs
from geedocker.images.local import unpack_image
from geedocker.images.tarball import load, save
from geedocker.store.images import ImageStore
from geedocker.store.layout import Layout
from tests.support.layers import directory, file, gzip_bytes, layer_tar, symlink
from tests.support.peers import podman_cmd


def make_image(layout: Layout, name: str = "test/app:1") -> str:
    tar = layer_tar([directory("etc"), file("etc/hello", "hi"), file("bin/run", "#!/bin/sh\n", mode=0o755),
                     symlink("bin/sh", "run")])
    rec = import_rootfs(layout, io.BytesIO(gzip_bytes(tar)), name, changes=('CMD ["/bin/run"]', "ENV A=1"))
    return str(rec.id)


def test_import_makes_a_runnable_image_config(layout: Layout, tmp_path: Path) -> None:
    make_image(layout)
    rec = ImageStore(layout).resolve("test/app:1")
    assert rec.config.config.cmd == ("/bin/run",)
    assert "A=1" in rec.config.config.env
    assert len(rec.config.diff_ids) == 1
    out = tmp_path / "flat"
    out.mkdir()
    unpack_image(layout, "test/app:1", out)
    assert (out / "etc/hello").read_text() == "hi"
    assert (out / "bin/sh").is_symlink()


def test_save_then_load_into_another_store_keeps_digests(layout: Layout, tmp_path: Path) -> None:
    make_image(layout)
    buf = io.BytesIO()
    save(layout, ["test/app:1"], buf)
    names = tarfile.open(fileobj=io.BytesIO(buf.getvalue())).getnames()
    assert {"manifest.json", "index.json", "oci-layout", "repositories"} <= set(names)
    other = Layout(tmp_path / "r2", tmp_path / "run2")
    loaded = load(other, io.BytesIO(buf.getvalue()))
    a = ImageStore(layout).resolve("test/app:1")
    b = ImageStore(other).resolve("test/app:1")
    assert loaded[0].names == ("test/app:1",)
    assert (a.id, a.manifest_digest) == (b.id, b.manifest_digest)


def test_load_old_style_docker_archive(layout: Layout, tmp_path: Path) -> None:
    layer = layer_tar([file("x", "old style")])
    import hashlib

    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in [("abc/layer.tar", layer), (cfg_name, config),
                           ("manifest.json", json.dumps([{"Config": cfg_name, "RepoTags": ["old:1"],
                                                          "Layers": ["abc/layer.tar"]}]).encode())]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    loaded = load(layout, io.BytesIO(buf.getvalue()))
    assert loaded[0].names == ("old:1",)
    out = tmp_path / "o"
    out.mkdir()
    unpack_image(layout, "old:1", out)
    assert (out / "x").read_text() == "old style"


def test_load_rejects_a_tampered_blob(layout: Layout, tmp_path: Path) -> None:
    make_image(layout)
    buf = io.BytesIO()
    save(layout, ["test/app:1"], buf)
    src = tarfile.open(fileobj=io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
            if data is not None and m.name.startswith("blobs/") and data.startswith(b'{"architecture"'):
                data = data.replace(b"amd64", b"arm64") if b"amd64" in data else data + b" "
            if data is not None:
                m.size = len(data)
            tf.addfile(m, io.BytesIO(data) if data is not None else None)
    other = Layout(tmp_path / "r2", tmp_path / "run2")
    with pytest.raises(VerificationError):
        load(other, io.BytesIO(out.getvalue()))
    assert ImageStore(other).records() == []


def test_load_garbage_is_a_clear_error(layout: Layout) -> None:
    with pytest.raises(ArchiveError, match="not an image archive"):
        load(layout, io.BytesIO(b"this is not a tar file at all" * 100))


PODMAN = shutil.which("podman")
SKOPEO = shutil.which("skopeo")


@pytest.mark.root
@pytest.mark.peers
@pytest.mark.skipif(not PODMAN or not SKOPEO, reason="podman and skopeo are needed")
def test_round_trip_with_podman_and_skopeo(layout: Layout, tmp_path: Path) -> None:
    image_id = make_image(layout)
    saved = tmp_path / "saved.tar"
    with open(saved, "wb") as f:
        save(layout, ["test/app:1"], f)
    with podman_cmd() as podman:
        r = subprocess.run([*podman, "load", "-i", str(saved)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([*podman, "images", "--no-trunc", "--format", "{{.ID}}"], capture_output=True, text=True)
        assert r.stdout.strip().removeprefix("sha256:") == image_id.removeprefix("sha256:")
        back = tmp_path / "back.tar"
        r = subprocess.run([*podman, "save", "-o", str(back), "docker.io/test/app:1"], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        other = Layout(tmp_path / "r2", tmp_path / "run2")
        loaded = load(other, back)
        assert str(loaded[0].record.id) == image_id
        # skopeo reads our archive and writes an OCI archive we can load
        oci_tar = tmp_path / "oci.tar"
        r = subprocess.run([SKOPEO or "skopeo", "copy", f"docker-archive:{saved}", f"oci-archive:{oci_tar}:test:1"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        third = Layout(tmp_path / "r3", tmp_path / "run3")
        loaded = load(third, oci_tar)
        out = tmp_path / "flat"
        out.mkdir()
        unpack_image(third, str(loaded[0].record.id), out)
        assert (out / "etc/hello").read_text() == "hi"


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_save_refuses_a_damaged_blob(layout: Layout, damage: str) -> None:
    """A blob whose bytes no longer hash to its digest (a truncated or flipped file in the store) is not exported."""
    name = make_image(layout)
    rec = ImageStore(layout).resolve(name)
    blob = layout.blob(rec.layer_digests[0])
    data = blob.read_bytes()
    blob.chmod(0o644)
    blob.write_bytes(data[: len(data) // 2] if damage == "truncate" else bytes([data[0] ^ 1]) + data[1:])
    with pytest.raises(VerificationError, match=f"blob {rec.layer_digests[0]} in the store is damaged"):
        save(layout, [name], io.BytesIO())
    blob.write_bytes(data)
    out = io.BytesIO()
    save(layout, [name], out)  # whole again: saved
    assert out.getvalue()
