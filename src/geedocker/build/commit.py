"""A layer step's result: found in the build cache or made, then put on the stage as a layer (or as an
``empty_layer`` history entry when the step changed nothing).

RUN, COPY, ADD and WORKDIR (``runstep``, ``copystep``, ``steps``) each make their layer from an upper dir and
commit it here, so the cache key, the lookup and the layer's registration are the same for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from geedocker.archive.writer import LayerBlob
from geedocker.build.cache import step_key
from geedocker.containers.engine import Engine
from geedocker.images.compose import now, register_layer
from geedocker.images.layerdiff import UpperDiff, write_layer

if TYPE_CHECKING:
    from geedocker.build.builder import Builder
    from geedocker.build.stagestate import StageState


def commit(b: Builder, state: StageState, key: str, created_by: str,
           make: Callable[[], LayerBlob | None], rebase: bool = False) -> None:
    """Use the cached result of ``key``, or ``make`` it and remember it; then add it to the stage.

    A step that changed nothing adds no layer, only an ``empty_layer`` history entry (as docker's builder).
    ``rebase``: the layer does not depend on its parent (``COPY --link``): a cached one found over another
    parent is unpacked over this one."""
    found, blob = (False, None) if b.opts.no_cache else b.cache.get(key, any_parent=rebase)
    if found:
        b.cached()
        if rebase and blob is not None:
            register_layer(b.layout, state.base.diff_ids, blob)
    else:
        blob = make()
        chain = register_layer(b.layout, state.base.diff_ids, blob) if blob is not None else None
        b.cache.put(key, blob, chain)
    state.base = state.base.with_layer(blob, {"created": now(), "created_by": created_by})


def stage_key(state: StageState, *parts: object) -> str:
    return step_key([state.chain, state.config.to_json(), *parts])


def layer_of(b: Builder, upper: Path, lowers: list[Path], runtime_paths: Sequence[str] = ()) -> LayerBlob | None:
    diff = UpperDiff(upper, lowers, runtime_paths)
    if diff.is_empty():
        return None
    return write_layer(diff, Engine.of(b.layout).blobs.writer())
