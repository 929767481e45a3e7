"""The build cache: a step's key -> the layer it made, so a rebuild with nothing changed runs nothing.

A key is the sha256 of what decides a layer step's result: the parent's chain id, the run config the step
sees (env, user, working dir, shell...), the instruction after substitution, the build args in scope and,
for COPY and ADD, the content digest of the sources (``context.digest_sources``). An entry holds the
layer's blob digest, sizes and diff_id, and is used only while that blob and its unpacked layer are in the
store. ``prune`` removes every entry, the blobs and layers that no image uses, and the dirs of
``RUN --mount=type=cache``. ``usage`` measures the same records for ``system df``'s "Build Cache" row, as
BuildKit's disk usage does: a step's layer (its blob and unpacked dir; ``shared`` when an image has that
layer too, and then counted in no cache size, as docker's CLI) and each cache mount dir.

    $ROOT/buildcache/<key>.json        a step's entry (its mtime: when it was last used)
    $ROOT/buildcache/mounts/<id>/      a RUN --mount=type=cache dir
"""

from __future__ import annotations

import contextlib
import json
import os

from geedocker.archive.writer import LayerBlob
from geedocker.containers.engine import Engine
from geedocker.digest import Digest
from geedocker.store.fsutil import atomic_write
from geedocker.store.layout import Layout
from geedocker.values import value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any


def step_key(parts: list[Any]) -> str:
    import hashlib  # here: OpenSSL takes ms to load

    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@value
class CacheRecord:
    """One object of the build cache, as BuildKit's disk usage reports one (docker's ``types.BuildCache``)."""

    id: str
    type: str  # "regular": a step's layer; "exec.cachemount": a RUN --mount=type=cache dir
    size: int  # bytes on disk: the layer's blob and unpacked dir (once for entries that share a layer)
    shared: bool  # the layer is an image's too: prune keeps it
    created: float
    last_used: float
    description: str


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
        engine = Engine.of(self.layout)
        if not engine.blobs.has(blob.digest) or not (any_parent or engine.layers.has(chain)):
            return False, None
        with contextlib.suppress(OSError):
            os.utime(self.dir / f"{key}.json")  # last used: what ``system df -v`` shows
        return True, blob

    def put(self, key: str, blob: LayerBlob | None, chain: Digest | None) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        import time

        entry: dict[str, object] = {"empty": True, "created": time.time()}
        if blob is not None:
            entry = {"digest": str(blob.digest), "size": blob.size, "diff_id": str(blob.diff_id),
                     "tar_size": blob.tar_size, "chain": str(chain), "created": entry["created"]}
        atomic_write(self.dir / f"{key}.json", json.dumps(entry).encode(), durable=False)

    @property
    def mounts(self) -> Path:
        return self.dir / "mounts"

    def _entries(self) -> list[tuple[str, Digest | None, Digest | None, float, float]]:
        """(key, blob digest, chain id, created, last used) of every entry; None, None for a step that made
        no layer (and for an entry that cannot be read: it is an object all the same, and prune removes it)."""
        out = []
        try:
            names = sorted(n for n in os.listdir(self.dir) if n.endswith(".json"))
        except FileNotFoundError:
            return []
        for name in names:
            path = self.dir / name
            digest: Digest | None = None
            chain: Digest | None = None
            used = created = 0.0
            try:
                used = path.stat().st_mtime
                d = json.loads(path.read_bytes())
                created = float(d.get("created") or used)  # entries of older geedockers have no "created"
                if not d.get("empty"):
                    digest, chain = Digest.parse(d["digest"]), Digest.parse(d["chain"])
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                pass
            out.append((name.removesuffix(".json"), digest, chain, created, used))
        return out

    def _used(self) -> tuple[set[Digest], set[Digest]]:
        """The blobs and layers the images use."""

        used_blobs: set[Digest] = set()
        used_chains: set[Digest] = set()
        for rec in Engine.of(self.layout).images.records():
            used_blobs |= set(rec.layer_digests)
            used_chains |= set(rec.chain_ids)
        return used_blobs, used_chains

    def _mount_dirs(self) -> list[Path]:
        try:
            return sorted(p for p in self.mounts.iterdir() if p.is_dir() and not p.is_symlink())
        except FileNotFoundError:
            return []

    def usage(self) -> list[CacheRecord]:
        """Every object of the cache with its size: the steps' entries, then the cache mounts."""
        from geedocker.trees import content_size

        used_blobs, used_chains = self._used()
        engine = Engine.of(self.layout)
        blobs, layers = engine.blobs, engine.layers
        counted: set[Digest] = set()  # layers already counted: two entries with one result take its room once
        out = []
        for key, digest, chain, created, used in self._entries():
            size = 0
            shared = chain is not None and chain in used_chains
            if digest is not None and chain is not None and chain not in counted:
                counted.add(chain)
                if digest not in used_blobs and blobs.has(digest):
                    size += blobs.size(digest)
                if chain not in used_chains and layers.has(chain):
                    size += content_size(self.layout.layer_diff(chain))
            out.append(CacheRecord(key, "regular", size, shared, created, used,
                                   f"layer {chain}" if chain is not None else "a step that changed nothing"))
        for d in self._mount_dirs():
            st = d.stat()
            out.append(CacheRecord(d.name, "exec.cachemount", content_size(d), False, st.st_ctime, st.st_mtime,
                                   f"local source for RUN --mount=type=cache,id={d.name}"))
        return out

    def prune(self) -> tuple[list[str], int]:
        """Remove every entry and what only the cache held, and the cache mounts; (the ids of the objects
        removed, bytes freed: blobs, unpacked layers, mount dirs)."""
        from geedocker.trees import content_size, rmtree

        entries = self._entries()
        used_blobs, used_chains = self._used()
        engine = Engine.of(self.layout)
        blobs, layers = engine.blobs, engine.layers
        freed = 0
        removed: list[str] = []
        for key, digest, chain, _, _ in entries:
            if digest is not None and digest not in used_blobs and blobs.has(digest):
                freed += blobs.size(digest)
                blobs.delete(digest)
            if chain is not None and chain not in used_chains and layers.has(chain):
                freed += content_size(self.layout.layer_diff(chain))
                layers.remove(chain)
            (self.dir / f"{key}.json").unlink(missing_ok=True)
            removed.append(key)
        for d in self._mount_dirs():
            freed += content_size(d)
            rmtree(d)
            removed.append(d.name)
        return removed, freed
