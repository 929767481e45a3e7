"""Layers unpacked with OVERLAY whiteouts by the layer store, mounted as a real overlayfs, must show the
same tree as ``flatten`` of the same layers."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.archive import flatten
from geedocker.archive.compression import open_decompressed
from geedocker.digest import Digest
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout
from tests.archive.test_umoci import random_layers
from tests.support.layers import feature_layers, tree_snapshot

pytestmark = pytest.mark.root


def diff_id(blob: bytes) -> Digest:
    _, reader = open_decompressed(io.BytesIO(blob))
    h = hashlib.sha256()
    while chunk := reader.read(1 << 20):
        h.update(chunk)
    return Digest("sha256", h.hexdigest())


def chain_ids(diff_ids: list[Digest]) -> list[Digest]:
    out = [diff_ids[0]]
    for d in diff_ids[1:]:
        out.append(Digest.of(f"{out[-1]} {d}".encode()))
    return out


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[list[Path]]:
    """A list the test appends mount points to; each is unmounted at teardown, also on failure."""
    mounts: list[Path] = []
    yield mounts
    for m in reversed(mounts):
        subprocess.run(["umount", "-l", str(m)], check=False, capture_output=True)


def test_overlay_mount_of_the_store_matches_flatten(layout: Layout, tmp_path: Path, mounted: list[Path]) -> None:
    blobs = feature_layers()
    store = LayerStore(layout)
    ids = [diff_id(b) for b in blobs]
    lowers = [store.unpack(c, d, io.BytesIO(b)) for c, d, b in zip(chain_ids(ids), ids, blobs, strict=True)]
    merged = tmp_path / "merged"
    merged.mkdir()
    lowerdir = ":".join(str(p) for p in reversed(lowers))  # top first
    run = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lowerdir}", str(merged)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    mounted.append(merged)
    flatten([io.BytesIO(b) for b in blobs], tmp_path / "flat")
    # overlayfs shows its own st_dev and, for directories, fresh inode numbers: compare the rest
    over, flat = tree_snapshot(merged), tree_snapshot(tmp_path / "flat")
    diff = {k: (over.get(k), flat.get(k)) for k in sorted(set(over) | set(flat)) if over.get(k) != flat.get(k)}
    assert diff == {}
    assert len(flat) > 300
    assert not (merged / "wh/dir").exists() and (merged / "wh/file").read_text() == "back"
    assert sorted(p.name for p in (merged / "opq").iterdir()) == ["new"]


def _is_real_path(root: Path, rel: str) -> bool:
    """``rel`` exists under ``root`` with every parent a real directory (no symlink on the way)."""
    parts = rel.split("/")
    cur = root
    for part in parts[:-1]:
        cur = cur / part
        if not cur.is_dir() or cur.is_symlink():
            return False
    return os.path.lexists(cur / parts[-1])


@pytest.mark.peers
@pytest.mark.parametrize("seed", range(int(os.environ.get("OVERLAY_SEEDS", "8"))))
def test_random_layers_overlay_matches_flatten(tmp_path: Path, mounted: list[Path], seed: int) -> None:
    """Random well-formed layers (whiteouts only of what lower layers hold, as docker makes them)."""
    model = tmp_path / "model"
    model.mkdir()
    blobs = random_layers(
        seed,
        can_whiteout=lambda path: _is_real_path(model, path),
        marker_anywhere=False,
        after_layer=lambda blob: flatten([io.BytesIO(blob)], model),
    )
    layout = Layout(tmp_path / "root", tmp_path / "run")
    store = LayerStore(layout)
    ids = [diff_id(b) for b in blobs]
    lowers = [store.unpack(c, d, io.BytesIO(b)) for c, d, b in zip(chain_ids(ids), ids, blobs, strict=True)]
    merged = tmp_path / "merged"
    merged.mkdir()
    lowerdir = ":".join(str(p) for p in reversed(lowers))
    run = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lowerdir}", str(merged)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    mounted.append(merged)
    over, flat = tree_snapshot(merged), tree_snapshot(model)
    diff = {k: (over.get(k), flat.get(k)) for k in sorted(set(over) | set(flat)) if over.get(k) != flat.get(k)}
    assert diff == {}
