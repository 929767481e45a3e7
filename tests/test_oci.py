import json

import pytest

from geedocker import oci
from geedocker.digest import Digest
from geedocker.errors import ManifestError, PlatformError

D1 = Digest.of(b"1")
D2 = Digest.of(b"2")


def _desc(d: Digest, mt: str, **extra: object) -> dict[str, object]:
    return {"mediaType": mt, "digest": str(d), "size": 10, **extra}


def test_manifest_roundtrip() -> None:
    raw = {
        "schemaVersion": 2,
        "mediaType": oci.MediaType.DOCKER_MANIFEST,
        "config": _desc(D1, oci.MediaType.DOCKER_CONFIG),
        "layers": [_desc(D2, oci.MediaType.DOCKER_LAYER)],
    }
    m = oci.Manifest.from_bytes(json.dumps(raw).encode())
    assert m.config.digest == D1
    assert [layer.digest for layer in m.layers] == [D2]
    assert m.to_json()["layers"][0]["digest"] == str(D2)


def test_schema1_refused_clearly() -> None:
    with pytest.raises(ManifestError, match="schema 1"):
        oci.Manifest.from_bytes(json.dumps({"schemaVersion": 1, "fsLayers": []}).encode())


def test_bad_descriptor_size() -> None:
    raw = {"schemaVersion": 2, "config": {"digest": str(D1), "size": -1}, "layers": []}
    with pytest.raises(ManifestError, match="invalid size"):
        oci.Manifest.from_bytes(json.dumps(raw).encode())


def _index() -> oci.Index:
    raw = {
        "schemaVersion": 2,
        "mediaType": oci.MediaType.OCI_INDEX,
        "manifests": [
            _desc(D1, oci.MediaType.OCI_MANIFEST, platform={"os": "linux", "architecture": "amd64"}),
            _desc(D2, oci.MediaType.OCI_MANIFEST, platform={"os": "linux", "architecture": "arm64", "variant": "v8"}),
        ],
    }
    return oci.Index.from_bytes(json.dumps(raw).encode())


def test_index_select_platform() -> None:
    idx = _index()
    assert idx.select(oci.Platform.parse("linux/amd64")).digest == D1
    assert idx.select(oci.Platform.parse("linux/arm64")).digest == D2
    assert idx.select(oci.Platform.parse("linux/aarch64/v8")).digest == D2


def test_index_no_match_lists_offer() -> None:
    with pytest.raises(PlatformError, match="linux/amd64, linux/arm64/v8"):
        _index().select(oci.Platform.parse("linux/s390x"))


def test_platform_parse_errors() -> None:
    with pytest.raises(ManifestError):
        oci.Platform.parse("linux")


def test_chain_ids_follow_the_spec() -> None:
    a, b = Digest.of(b"a"), Digest.of(b"b")
    chains = oci.chain_ids([a, b])
    assert chains[0] == a
    assert chains[1] == Digest.of(f"{a} {b}".encode())


def test_image_config_parse() -> None:
    raw = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/bin/sh"], "Cmd": None, "Env": ["A=1"], "ExposedPorts": {"80/tcp": {}}},
        "rootfs": {"type": "layers", "diff_ids": [str(D1)]},
    }
    c = oci.ImageConfig.from_bytes(json.dumps(raw).encode())
    assert c.config.entrypoint == ("/bin/sh",)
    assert c.config.cmd is None
    assert c.config.exposed_ports == ("80/tcp",)
    assert c.diff_ids == (D1,)


def test_detect_media_type() -> None:
    assert oci.detect_media_type(b'{"manifests": []}', None) == oci.MediaType.OCI_INDEX
    assert oci.detect_media_type(b'{"schemaVersion": 1}', None) == oci.MediaType.DOCKER_SCHEMA1
    with pytest.raises(ManifestError):
        oci.detect_media_type(b"[]", None)
