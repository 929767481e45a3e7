"""geedocker.images.tarimage: the images of a docker or OCI archive, read lazily and checked as they are read."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from geedocker.digest import Digest
from geedocker.errors import ArchiveError, VerificationError
from geedocker.images.importer import import_rootfs
from geedocker.images.tarball import save
from geedocker.images.tarimage import (
    DockerArchiveImage,
    OCIArchiveImage,
    TarArchive,
    docker_images,
    oci_images,
)
from geedocker.oci import Descriptor, MediaType, Platform
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageRecord
from geedocker.store.layout import Layout
from tests.support.layers import file, gzip_bytes, layer_tar


def _archive(path: Path, members: dict[str, bytes]) -> TarArchive:
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return TarArchive(path)


def _saved(layout: Layout, tmp_path: Path) -> tuple[ImageRecord, dict[str, bytes]]:
    rec = import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar([file("f", "x")]))), "test/app:1")
    buf = io.BytesIO()
    save(layout, ["test/app:1"], buf)
    tf = tarfile.open(fileobj=io.BytesIO(buf.getvalue()))
    members = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}  # type: ignore[union-attr]
    return rec, members


def test_an_oci_archive_image_is_the_saved_one(layout: Layout, tmp_path: Path) -> None:
    rec, members = _saved(layout, tmp_path)
    members.pop("manifest.json")
    archive = _archive(tmp_path / "a.tar", members)
    [(img, names)] = list(oci_images(archive))
    assert isinstance(img, OCIArchiveImage) and names == ["docker.io/test/app:1"]
    blobs = BlobStore(layout)
    assert img.manifest_digest() == rec.manifest_digest
    assert img.raw_manifest() == blobs.read_bytes(rec.manifest_digest)
    assert img.raw_config() == blobs.read_bytes(rec.config_digest)
    layer = img.manifest().layers[0]
    with img.open_blob(layer) as f:
        assert f.read() == blobs.read_bytes(layer.digest)
    with img.open_blob(layer, 3) as f:
        assert f.read() == blobs.read_bytes(layer.digest)[3:]
    assert img.describe(layer) == f"{tmp_path / 'a.tar'}: blobs/sha256/{layer.digest.hex}"
    assert img.index_blobs() == []


def test_an_oci_manifest_whose_bytes_are_not_its_digest_is_refused_as_it_is_read(layout: Layout,
                                                                                 tmp_path: Path) -> None:
    rec, members = _saved(layout, tmp_path)
    name = f"blobs/sha256/{rec.manifest_digest.hex}"
    members[name] = members[name].replace(b'"schemaVersion":2', b'"schemaVersion": 2')
    [(img, _)] = list(oci_images(_archive(tmp_path / "a.tar", members)))
    with pytest.raises(VerificationError, match=f"a.tar: {name}: blob digest mismatch: expected {rec.manifest_digest}"):
        img.manifest()


def test_an_index_is_resolved_for_this_host_and_kept(layout: Layout, tmp_path: Path) -> None:
    rec, members = _saved(layout, tmp_path)
    host = Platform.host()
    mdesc = {"mediaType": MediaType.OCI_MANIFEST.value, "digest": str(rec.manifest_digest),
             "size": len(members[f"blobs/sha256/{rec.manifest_digest.hex}"]),
             "platform": {"os": host.os, "architecture": host.architecture, **({"variant": host.variant}
                                                                                if host.variant else {})}}
    other = {**mdesc, "digest": str(Digest.of(b"elsewhere")), "platform": {"os": "linux", "architecture": "s390x"}}
    index = json.dumps({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX.value,
                        "manifests": [other, mdesc]}).encode()
    idigest = Digest.of(index)
    members[f"blobs/sha256/{idigest.hex}"] = index
    members["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": MediaType.OCI_INDEX.value, "digest": str(idigest), "size": len(index)}]}).encode()
    [(img, names)] = list(oci_images(_archive(tmp_path / "a.tar", members)))
    assert names == []
    assert img.manifest_digest() == rec.manifest_digest
    assert img.index_blobs() == [(idigest, index)]


def test_a_docker_archive_prefers_the_oci_manifest_of_the_same_config(layout: Layout, tmp_path: Path) -> None:
    rec, members = _saved(layout, tmp_path)
    [(img, names)] = list(docker_images(_archive(tmp_path / "a.tar", members)))
    assert isinstance(img, OCIArchiveImage) and names == ["test/app:1"]
    assert img.manifest_digest() == rec.manifest_digest


def test_an_old_style_docker_entry_gets_a_manifest_of_its_config_and_layers(tmp_path: Path) -> None:
    plain = layer_tar([file("x", "old")])
    packed = gzip_bytes(layer_tar([file("y", "new")]))
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    cfg_name = Digest.of(config).hex + ".json"
    entry = {"Config": cfg_name, "RepoTags": ["old:1"], "Layers": ["abc/layer.tar", f"blobs/sha256/{'0' * 64}"]}
    archive = _archive(tmp_path / "old.tar", {"abc/layer.tar": plain, f"blobs/sha256/{'0' * 64}": packed,
                                              cfg_name: config, "manifest.json": json.dumps([entry]).encode()})
    [(img, names)] = list(docker_images(archive))
    assert isinstance(img, DockerArchiveImage) and names == ["old:1"]
    m = img.manifest()
    assert m.config == Descriptor(MediaType.OCI_CONFIG.value, Digest.of(config), len(config))
    # the old style layer is named by its bytes, the new style one by its path (checked when it is copied)
    assert [(d.media_type, d.digest, d.size) for d in m.layers] == [
        (MediaType.OCI_LAYER.value, Digest.of(plain), len(plain)),
        (MediaType.OCI_LAYER_GZIP.value, Digest("sha256", "0" * 64), len(packed)),
    ]
    assert img.raw_config() == config
    with img.open_blob(m.layers[0]) as f:
        assert f.read() == plain
    assert img.describe(m.layers[0]) == f"{tmp_path / 'old.tar'}: abc/layer.tar"
    assert img.manifest_digest() == Digest.of(img.raw_manifest())


def test_a_malformed_docker_entry_is_an_archive_error(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "bad.tar", {"manifest.json": b'[{"Config": 1}]'})
    with pytest.raises(ArchiveError, match="bad.tar: malformed entry in manifest.json"):
        list(docker_images(archive))
