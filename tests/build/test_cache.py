"""The build cache's objects as ``system df`` counts them, and prune (no root: entries and cache mounts only;
tests/cli/test_build.py measures real layers)."""

from __future__ import annotations

from geedocker.build.cache import BuildCache
from geedocker.store.layout import Layout


def test_usage_and_prune_count_entries_and_cache_mounts(layout: Layout) -> None:
    cache = BuildCache(layout)
    assert cache.usage() == [] and cache.prune() == ([], 0)
    cache.put("k" * 64, None, None)  # a step that changed nothing: an object of no size
    (cache.mounts / "c1").mkdir(parents=True)
    (cache.mounts / "c1" / "f").write_bytes(b"x" * 100)
    (cache.dir / "junk.json").write_text("{not json")  # a damaged entry is an object too, and prune takes it
    got = sorted((r.id, r.type, r.size, r.shared) for r in cache.usage())
    assert got == [("c1", "exec.cachemount", 100, False), ("junk", "regular", 0, False),
                   ("k" * 64, "regular", 0, False)]
    removed, freed = cache.prune()  # once failed on the mounts dir (unlink of a directory)
    assert sorted(removed) == ["c1", "junk", "k" * 64] and freed == 100
    assert cache.usage() == [] and list(cache.mounts.iterdir()) == []
