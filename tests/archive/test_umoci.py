"""Differential tests against ``umoci unpack``: the same layers, flattened by us and by umoci, compared
entry by entry (type, mode, owner, size, content, symlink target, hard-link group, mtime, xattrs)."""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from geedocker.archive import flatten
from geedocker.errors import UnsafeEntryError
from tests.support.layers import (
    Entry,
    directory,
    feature_layers,
    file,
    gzip_bytes,
    hardlink,
    layer_tar,
    opaque,
    symlink,
    tree_snapshot,
    whiteout,
    write_oci_layout,
)

pytestmark = [
    pytest.mark.root,
    pytest.mark.peers,
    pytest.mark.skipif(shutil.which("umoci") is None, reason="umoci is not installed"),
]


def compare_with_umoci(tmp_path: Path, blobs: list[bytes]) -> int:
    write_oci_layout(tmp_path / "image", blobs, "t")
    run = subprocess.run(["umoci", "unpack", "--image", f"{tmp_path / 'image'}:t", str(tmp_path / "bundle")],
                         capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        # umoci refuses some layers (e.g. a symlink loop in a whiteout's parent): so must we
        assert "too many levels of symbolic links" in run.stderr, run.stderr
        with pytest.raises(UnsafeEntryError, match="too many levels of symbolic links"):
            flatten([io.BytesIO(b) for b in blobs], tmp_path / "ours")
        return 0
    flatten([io.BytesIO(b) for b in blobs], tmp_path / "ours")
    theirs, ours = tree_snapshot(tmp_path / "bundle/rootfs"), tree_snapshot(tmp_path / "ours")
    diff = {k: (theirs.get(k), ours.get(k)) for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k)}
    assert diff == {}
    return len(ours)


def test_busybox_image_with_every_feature(tmp_path: Path) -> None:
    n = compare_with_umoci(tmp_path, feature_layers())
    assert n > 300


def _ensure_parents(rng: random.Random, entries: list[Entry], written: dict[str, str], path: str) -> bool:
    """List the parents of ``path`` in the layer (as docker does); False if one is a non-directory here."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i])
        kind = written.get(parent)
        if kind is None:
            entries.append(directory(parent, mode=rng.choice([0o755, 0o700, 0o775]), mtime=rng.randrange(10**9)))
            written[parent] = "dir"
        elif kind != "dir":
            return False
    return True


def random_layers(seed: int, count: int = 4, can_whiteout: Callable[[str], bool] | None = None,
                  marker_anywhere: bool = True, after_layer: Callable[[bytes], None] | None = None) -> list[bytes]:
    """Layers of random operations on a small namespace, each layer well-formed (parents listed first).

    ``can_whiteout(path)`` vetoes whiteouts (it sees the layers so far through ``after_layer``, which
    is called with each layer as it is made); ``marker_anywhere`` lets opaque markers precede their
    directory's entry.
    """
    rng = random.Random(seed)
    names = ["a", "b", "c", "d"]
    layers = []
    for _ in range(count):
        entries: list[Entry] = []
        written: dict[str, str] = {}  # path -> kind within this layer

        for _ in range(rng.randrange(3, 14)):
            depth = rng.randrange(1, 4)
            path = "/".join(rng.choice(names) for _ in range(depth))
            if path in written or any(path.startswith(p + "/") and k != "dir" for p, k in written.items()):
                continue
            if any(p.startswith(path + "/") for p in written):
                continue
            op = rng.choice(["file", "file", "dir", "symlink", "whiteout", "opaque", "hardlink", "fifo"])
            if op == "whiteout" and can_whiteout is not None and not can_whiteout(path):
                continue
            if not _ensure_parents(rng, entries, written, path):
                continue
            mtime = rng.randrange(10**9)
            if op == "file":
                entries.append(file(path, rng.randbytes(rng.randrange(0, 3000)),
                                    mode=rng.choice([0o644, 0o755, 0o4755, 0o2755, 0o600, 0o444]),
                                    uid=rng.choice([0, 1, 1000]), gid=rng.choice([0, 2, 1000]), mtime=mtime))
                written[path] = "file"
            elif op == "dir":
                entries.append(directory(path, mode=rng.choice([0o755, 0o1777, 0o750]), mtime=mtime))
                written[path] = "dir"
            elif op == "symlink":
                entries.append(symlink(path, rng.choice(["a", "../b", "/c/d", "x/y"]), mtime=mtime))
                written[path] = "symlink"
            elif op == "fifo":
                entries.append(Entry(path, tarfile.FIFOTYPE, mode=0o640, mtime=mtime))
                written[path] = "fifo"
            elif op == "hardlink":
                targets = [p for p, k in written.items() if k == "file"]
                if not targets:
                    continue
                entries.append(hardlink(path, rng.choice(targets)))
                written[path] = "file"
            elif op == "whiteout":
                entries.append(whiteout(path))
                written[path] = "whiteout"
            elif op == "opaque":
                if written.get(path) not in (None, "dir"):
                    continue
                if path not in written:
                    entries.append(directory(path, mtime=mtime))
                    written[path] = "dir"
                # the marker may sit anywhere in the layer
                pos = rng.randrange(len(entries) + 1) if marker_anywhere else len(entries)
                entries.insert(pos, opaque(path))
        layers.append(gzip_bytes(layer_tar(entries)) if rng.random() < 0.5 else layer_tar(entries))
        if after_layer is not None:
            after_layer(layers[-1])
    return layers


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("UMOCI_SEEDS", "12"))))
def test_random_layers(tmp_path: Path, seed: int) -> None:
    compare_with_umoci(tmp_path, random_layers(seed))
