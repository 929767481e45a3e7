"""The merged view of overlay-format layer dirs (top first), walked without mounting them.

What overlayfs shows at the mount point, computed from the dirs themselves: a name is taken from the
highest dir that has it; a whiteout (0:0 character device) there hides it; a directory merges the same
directory of the dirs below it until one of them has something else at that name or the directory is
opaque (``trusted.overlay.opaque=y``). ``export`` and the builder's comparisons read stopped containers
and images this way, with no mount to make and clean up.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from geedocker.archive.writer import TarWriter, is_opaque, is_whiteout


def walk(layers: Sequence[Path], rel: str = "") -> Iterator[tuple[str, Path, os.stat_result]]:
    """(relative name, host path, lstat) of every object of the merged tree, parents first, names sorted."""
    yield from _walk(list(layers), rel)


def _walk(dirs: list[Path], rel: str) -> Iterator[tuple[str, Path, os.stat_result]]:
    found: dict[str, int] = {}
    for i, d in enumerate(dirs):
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            continue
        for n in names:
            found.setdefault(n, i)
    for name in sorted(found):
        i = found[name]
        p = dirs[i] / name
        st = os.lstat(p)
        if is_whiteout(st):
            continue
        r = f"{rel}/{name}" if rel else name
        yield r, p, st
        if stat.S_ISDIR(st.st_mode):
            sub = [p]
            if not is_opaque(p):
                for d in dirs[i + 1 :]:
                    q = d / name
                    try:
                        qst = os.lstat(q)
                    except FileNotFoundError:
                        continue
                    if not stat.S_ISDIR(qst.st_mode):
                        break  # a whiteout or a non-directory hides what is below
                    sub.append(q)
                    if is_opaque(q):
                        break
            yield from _walk(sub, r)


def write_tree(tw: TarWriter, layers: Sequence[Path]) -> None:
    """The merged tree as tar entries (what ``export`` writes)."""
    for name, path, st in walk(layers):
        tw.add(name, path, st)
