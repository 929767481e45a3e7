"""The build cache: a step's key -> the layer it made, so a rebuild with nothing changed runs nothing.

A key is the sha256 of what decides a layer step's result: the parent's chain id, the run config the step
sees (env, user, working dir, shell...), the instruction after substitution, the build args in scope and,
for COPY and ADD, the content digest of the sources (``context.digest_sources``). An entry holds the
layer's blob digest, sizes and diff_id, and is used only while that blob and its unpacked layer are in the
store. ``prune`` removes every entry, and the blobs and layers that no image uses.

    $ROOT/buildcache/<key>.json
"""

from __future__ import annotations

import json
import os

from geedocker.archive.writer import LayerBlob
from geedocker.digest import Digest
from geedocker.store.blobs import BlobStore
from geedocker.store.fsutil import atomic_write
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def step_key(parts: list[Any]) -> str:
    import hashlib  # here: OpenSSL takes ms to load

    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class BuildCache:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.dir = layout.root / "buildcache"

    def get(self, key: str, any_parent: bool = False) -> tuple[bool, LayerBlob | None]:
        """(found, the layer or None for a step that changed nothing). ``any_parent``: the layer is wanted over
        another parent than the one it was made on (``COPY --link``): its blob is enough."""
        try:
            d = json.loads((self.dir / f"{key}.json").read_bytes())
            if d.get("empty"):
                return True, None
            blob = LayerBlob(Digest.parse(d["digest"]), int(d["size"]), Digest.parse(d["diff_id"]), int(d["tar_size"]))
            chain = Digest.parse(d["chain"])
        except (OSError, ValueError, KeyError):
            return False, None
        if not BlobStore(self.layout).has(blob.digest) or not (any_parent or LayerStore(self.layout).has(chain)):
            return False, None
        return True, blob

    def put(self, key: str, blob: LayerBlob | None, chain: Digest | None) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        entry: dict[str, object] = {"empty": True}
        if blob is not None:
            entry = {"digest": str(blob.digest), "size": blob.size, "diff_id": str(blob.diff_id),
                     "tar_size": blob.tar_size, "chain": str(chain)}
        atomic_write(self.dir / f"{key}.json", json.dumps(entry).encode(), durable=False)

    def prune(self) -> tuple[list[str], int]:
        """Remove every entry and what only the cache held; (the keys of the entries removed, bytes of blobs
        freed)."""
        from geedocker.store.images import ImageStore

        try:
            names = sorted(os.listdir(self.dir))
        except FileNotFoundError:
            return [], 0
        used_blobs: set[Digest] = set()
        used_chains: set[Digest] = set()
        for rec in ImageStore(self.layout).records():
            used_blobs |= set(rec.layer_digests)
            used_chains |= set(rec.chain_ids)
        blobs, layers = BlobStore(self.layout), LayerStore(self.layout)
        freed = 0
        removed: list[str] = []
        for name in names:
            path = self.dir / name
            digest: Digest | None = None
            chain: Digest | None = None
            try:
                d = json.loads(path.read_bytes())
                if not d.get("empty"):
                    digest, chain = Digest.parse(d["digest"]), Digest.parse(d["chain"])
            except (OSError, ValueError, KeyError):
                pass
            if digest is not None and digest not in used_blobs and blobs.has(digest):
                freed += blobs.size(digest)
                blobs.delete(digest)
            if chain is not None and chain not in used_chains:
                layers.remove(chain)
            path.unlink(missing_ok=True)
            removed.append(name.removesuffix(".json"))
        return removed, freed
