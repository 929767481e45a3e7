"""Building in a test store with the busybox base image (tests/build): the base's name and ways to look
into the images built."""

from __future__ import annotations

import io
import os
from pathlib import Path

from geedocker.build.builder import build
from geedocker.build.options import BuildOptions
from geedocker.images.union import walk
from geedocker.store.images import ImageRecord
from geedocker.store.layout import Layout

BASE = "test/bb:1"


def build_in(layout: Layout, ctx: Path, text: str, **kw: object) -> ImageRecord:
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(text)
    opts = BuildOptions(dockerfile=text, context=ctx, network="none", quiet=True, **kw)  # type: ignore[arg-type]
    return build(layout, opts, out=io.StringIO())


def layer_dirs(layout: Layout, rec: ImageRecord) -> list[Path]:
    return [layout.layer_diff(c) for c in reversed(rec.chain_ids)]


def files_of(layout: Layout, rec: ImageRecord) -> dict[str, os.stat_result]:
    return {n: st for n, _, st in walk(layer_dirs(layout, rec))}


def path_in(layout: Layout, rec: ImageRecord, name: str) -> Path:
    for n, p, _ in walk(layer_dirs(layout, rec)):
        if n == name:
            return p
    raise AssertionError(f"{name} not in the image")
