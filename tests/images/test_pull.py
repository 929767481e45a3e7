"""Pull against the in-memory registry (no server): cache, resume, faults, platforms, verification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geedocker import oci
from geedocker.digest import Digest
from geedocker.errors import ManifestError, NotFoundError, PlatformError, VerificationError
from geedocker.images.pull import LayerStatus, ProgressEvent, PullOptions, pull
from geedocker.registry import RegistryClient, RegistryConfig, StaticCredentials
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageStore
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout
from tests.registry.fakes import FakeRegistry, Fault
from tests.support.layers import directory, file, gzip_bytes, layer_tar, whiteout, zstd_bytes
from tests.support.registry import build_and_push, push_index

REPO = "team/app"


def client_for(fake: FakeRegistry) -> RegistryClient:
    cfg = RegistryConfig(credentials=StaticCredentials({}), retry_base_delay=0.001)
    c = RegistryClient(fake.host, config=cfg, transport=fake)
    c.sleep = lambda s: None  # type: ignore[method-assign]
    return c


def two_layers(tag: str = "1") -> list[bytes]:
    return [
        gzip_bytes(layer_tar([directory("etc"), file("etc/version", tag), file("etc/old", "x")])),
        gzip_bytes(layer_tar([file("bin/tool", "#!/bin/sh\necho hi\n", mode=0o755), whiteout("etc/old")])),
    ]


@pytest.fixture
def fake() -> FakeRegistry:
    return FakeRegistry()


def do_pull(layout: Layout, fake: FakeRegistry, name: str, **kw: object) -> object:
    events: list[ProgressEvent] = []
    res = pull(layout, name, client=client_for(fake), progress=events.append, **kw)  # type: ignore[arg-type]
    res.events = events  # type: ignore[attr-defined]
    return res


def test_pull_stores_verifies_and_unpacks(layout: Layout, fake: FakeRegistry) -> None:
    pushed = build_and_push(client_for(fake), REPO, "1", two_layers())
    res = pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))
    assert res.blobs_downloaded == 3  # config + 2 layers
    assert res.digest == pushed.digest
    rec = ImageStore(layout).resolve(f"{fake.host}/{REPO}:1")
    assert rec.id == pushed.config_digest
    assert rec.manifest_digest == pushed.digest
    layers = LayerStore(layout)
    chains = oci.chain_ids(list(pushed.diff_ids))
    assert (layers.diff_path(chains[0]) / "etc/version").read_text() == "1"
    assert (layers.diff_path(chains[1]) / "bin/tool").stat().st_mode & 0o777 == 0o755
    for d in [pushed.config_digest, *(layer.digest for layer in pushed.layers), pushed.digest]:
        assert BlobStore(layout).has(d)
    assert list(layout.ingest.iterdir()) == []


def test_second_pull_downloads_nothing(layout: Layout, fake: FakeRegistry) -> None:
    build_and_push(client_for(fake), REPO, "1", two_layers())
    pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))
    fake.requests.clear()
    events: list[ProgressEvent] = []
    res = pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake), progress=events.append)
    assert res.up_to_date and res.bytes_downloaded == 0
    assert fake.count("GET", "/blobs/") == 0
    assert fake.count("GET", "/manifests/") == 0
    assert fake.count("HEAD", "/manifests/1") == 1
    assert {e.status for e in events} >= {LayerStatus.EXISTS}


def test_tag_moves_when_the_registry_changed(layout: Layout, fake: FakeRegistry) -> None:
    first = build_and_push(client_for(fake), REPO, "v", two_layers("1"))
    pull(layout, f"{fake.host}/{REPO}:v", client=client_for(fake))
    second = build_and_push(client_for(fake), REPO, "v", two_layers("2"))
    res = pull(layout, f"{fake.host}/{REPO}:v", client=client_for(fake))
    assert res.record.id == second.config_digest != first.config_digest
    # the old image stays, untagged; the new one holds the tag
    recs = {r.id: r for r in ImageStore(layout).records()}
    assert recs[first.config_digest].tags == ()
    assert recs[second.config_digest].tags == (f"{fake.host}/{REPO}:v",)


def test_pull_by_digest_records_no_tag(layout: Layout, fake: FakeRegistry) -> None:
    pushed = build_and_push(client_for(fake), REPO, None, two_layers())
    res = pull(layout, f"{fake.host}/{REPO}@{pushed.digest}", client=client_for(fake))
    assert res.record.tags == ()
    assert res.record.repo_digests == (f"{fake.host}/{REPO}@{pushed.digest}",)
    assert ImageStore(layout).resolve(f"{fake.host}/{REPO}@{pushed.digest}").id == pushed.config_digest


def test_zstd_and_plain_layers(layout: Layout, fake: FakeRegistry) -> None:
    layers = [zstd_bytes(layer_tar([file("a", "zstd")])), layer_tar([file("b", "plain")])]
    pushed = build_and_push(client_for(fake), REPO, "z", layers)
    pull(layout, f"{fake.host}/{REPO}:z", client=client_for(fake))
    chains = oci.chain_ids(list(pushed.diff_ids))
    assert (LayerStore(layout).diff_path(chains[0]) / "a").read_text() == "zstd"
    assert (LayerStore(layout).diff_path(chains[1]) / "b").read_text() == "plain"


def test_platform_choice_from_an_index(layout: Layout, fake: FakeRegistry) -> None:
    idx = push_index(client_for(fake), REPO, "multi")
    res = pull(layout, f"{fake.host}/{REPO}:multi", client=client_for(fake),
               options=PullOptions(platform=oci.Platform.parse("linux/arm64")))
    arm = idx.images["linux/arm64/v8"]
    assert res.record.manifest_digest == arm.digest
    assert res.digest == idx.digest
    chain = oci.chain_ids(list(arm.diff_ids))[0]
    assert (LayerStore(layout).diff_path(chain) / "etc/platform").read_text() == "linux/arm64/v8\n"
    with pytest.raises(PlatformError, match="linux/amd64"):
        pull(layout, f"{fake.host}/{REPO}:multi", client=client_for(fake),
             options=PullOptions(platform=oci.Platform.parse("linux/s390x")))


def test_unknown_tag_is_a_clear_error(layout: Layout, fake: FakeRegistry) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        pull(layout, f"{fake.host}/{REPO}:nope", client=client_for(fake))


def test_corrupted_blob_is_rejected_and_nothing_kept(layout: Layout, fake: FakeRegistry) -> None:
    pushed = build_and_push(client_for(fake), REPO, "1", two_layers())
    bad = str(pushed.layers[1].digest)
    fake.faults.append(Fault("GET", f"/blobs/{bad}", "corrupt", times=100))
    with pytest.raises(VerificationError):
        pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))
    assert not BlobStore(layout).has(pushed.layers[1].digest)
    chains = oci.chain_ids(list(pushed.diff_ids))
    assert not LayerStore(layout).has(chains[1])
    assert not ImageStore(layout).exists(f"{fake.host}/{REPO}:1")
    fake.faults.clear()
    res = pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))
    assert res.record.id == pushed.config_digest


def test_break_mid_blob_resumes_with_range(layout: Layout, fake: FakeRegistry) -> None:
    big = layer_tar([file("big", bytes(range(256)) * 4096)])
    pushed = build_and_push(client_for(fake), REPO, "1", [gzip_bytes(big)])
    d = str(pushed.layers[0].digest)
    fake.faults.append(Fault("GET", f"/blobs/{d}", "break", break_after=1000, times=2))
    fake.faults.append(Fault("GET", f"/blobs/{d}", "status", status=503, times=1))
    res = pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))
    assert res.record.id == pushed.config_digest
    ranged = [
        r for r in fake.requests if r.method == "GET" and d in r.url and "range" in {k.lower() for k in r.headers}
    ]
    assert ranged, "the broken download was resumed with a Range request"
    chain = oci.chain_ids(list(pushed.diff_ids))[0]
    assert (LayerStore(layout).diff_path(chain) / "big").read_bytes() == bytes(range(256)) * 4096


def test_next_pull_resumes_a_killed_download(layout: Layout, fake: FakeRegistry) -> None:
    big = gzip_bytes(layer_tar([file("big", bytes(range(256)) * 8192)]))
    pushed = build_and_push(client_for(fake), REPO, "1", [big])
    desc = pushed.layers[0]
    # what a pull killed halfway leaves behind
    ing = layout.ingest_dir(desc.digest)
    ing.mkdir(parents=True)
    (ing / "data").write_bytes(big[: len(big) // 2])
    fake.requests.clear()
    pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))
    gets = [r for r in fake.requests if r.method == "GET" and str(desc.digest) in r.url]
    assert len(gets) == 1
    assert {k.lower(): v for k, v in gets[0].headers.items()}["range"] == f"bytes={len(big) // 2}-"
    assert BlobStore(layout).path(desc.digest).read_bytes() == big


def test_range_ignored_restarts_cleanly(layout: Layout, fake: FakeRegistry) -> None:
    big = gzip_bytes(layer_tar([file("big", b"q" * 300_000)]))
    pushed = build_and_push(client_for(fake), REPO, "1", [big])
    desc = pushed.layers[0]
    ing = layout.ingest_dir(desc.digest)
    ing.mkdir(parents=True)
    (ing / "data").write_bytes(big[:100])
    fake.support_range = False
    pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))
    assert BlobStore(layout).path(desc.digest).read_bytes() == big


def test_diff_id_mismatch_rejects_the_image(layout: Layout, fake: FakeRegistry) -> None:
    wrong = str(Digest.of(b"not the layer"))
    pushed = build_and_push(client_for(fake), REPO, "1", two_layers()[:1],
                            config_overrides={"rootfs": {"type": "layers", "diff_ids": [wrong]}})
    with pytest.raises(VerificationError):
        pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))
    assert not LayerStore(layout).has(Digest.parse(wrong))
    assert not ImageStore(layout).exists(f"{fake.host}/{REPO}:1")
    assert pushed.digest


def test_layer_count_mismatch(layout: Layout, fake: FakeRegistry) -> None:
    build_and_push(client_for(fake), REPO, "1", two_layers(),
                   config_overrides={"rootfs": {"type": "layers", "diff_ids": []}})
    with pytest.raises(ManifestError, match="2 layers but the config lists 0"):
        pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))


def test_schema1_refused(layout: Layout, fake: FakeRegistry) -> None:
    fake.add_manifest(REPO, "old", json.dumps({"schemaVersion": 1, "name": REPO, "fsLayers": []}).encode(),
                      oci.MediaType.DOCKER_SCHEMA1_SIGNED.value)
    with pytest.raises(ManifestError, match="schema 1"):
        pull(layout, f"{fake.host}/{REPO}:old", client=client_for(fake))


def test_shared_layers_unpacked_once_and_kept_by_rmi(layout: Layout, fake: FakeRegistry, tmp_path: Path) -> None:
    base = gzip_bytes(layer_tar([file("base", "b")]))
    a = build_and_push(client_for(fake), REPO, "a", [base, gzip_bytes(layer_tar([file("a", "a")]))])
    b = build_and_push(client_for(fake), REPO, "b", [base, gzip_bytes(layer_tar([file("b", "b")]))])
    pull(layout, f"{fake.host}/{REPO}:a", client=client_for(fake))
    res = pull(layout, f"{fake.host}/{REPO}:b", client=client_for(fake))
    assert res.blobs_downloaded == 2  # the base layer was already there
    store = ImageStore(layout)
    lines = store.remove(f"{fake.host}/{REPO}:a")
    assert any(line.startswith("Deleted: ") for line in lines)
    blobs = BlobStore(layout)
    assert blobs.has(a.layers[0].digest)  # shared with b
    assert not blobs.has(a.layers[1].digest)
    assert not LayerStore(layout).has(oci.chain_ids(list(a.diff_ids))[1])
    assert LayerStore(layout).has(oci.chain_ids(list(b.diff_ids))[0])
    assert store.resolve(f"{fake.host}/{REPO}:b").id == b.config_digest


def test_complete_but_uncommitted_download_needs_no_request(layout: Layout, fake: FakeRegistry) -> None:
    blob = gzip_bytes(layer_tar([file("f", "whole")]))
    pushed = build_and_push(client_for(fake), REPO, "1", [blob])
    ing = layout.ingest_dir(pushed.layers[0].digest)
    ing.mkdir(parents=True)
    (ing / "data").write_bytes(blob)
    fake.requests.clear()
    pull(layout, f"{fake.host}/{REPO}:1", client=client_for(fake))
    assert fake.count("GET", str(pushed.layers[0].digest)) == 0
    assert BlobStore(layout).has(pushed.layers[0].digest)
