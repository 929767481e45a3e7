"""A container's overlay upper dir -> the changes it holds, and an OCI layer made of them.

The upper dir is overlayfs' record of what changed above the lower dirs (the image's layers, top first):
new and modified objects as themselves, deletions as 0:0 character devices (whiteouts), directories whose
lower content is hidden with ``trusted.overlay.opaque=y``. ``upper_changes`` walks it in a fixed order
(parents before children, names sorted) and says for each path whether it was added, changed or deleted
(``docker diff``'s A/C/D); ``write_layer`` turns the same walk into an OCI layer tar (whiteouts become
``.wh.<name>`` entries, opaque directories get ``.wh..wh..opq``).

What the runtime made for its own use is left out, as docker's init layer keeps it out of commits:
``runtime_paths`` are the container's mount targets (``/etc/hosts``, ``/etc/resolv.conf``,
``/etc/hostname``, ``/proc``, ``/dev``...). Such a path is left out when the lower dirs do not have it and
it is empty in the upper dir (an empty file or a directory holding nothing else); so are directories that
exist only because of such paths, and directories overlayfs copied up for them that are otherwise the same
as below (mode and owners; mtimes aside).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from geedocker.archive.writer import LayerBlob, TarWriter, is_opaque, is_whiteout, layer_blob
from geedocker.values import value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from typing import Any


@value
class Change:
    """One changed path, as ``docker diff`` prints it: kind A (added), C (changed) or D (deleted)."""

    kind: str
    path: str  # absolute, in the container


@value
class _Entry:
    name: str  # relative, no leading "/"
    path: Path
    st: os.stat_result
    kind: str
    opaque: bool = False


class _Lowers:
    """Looks paths up in the lower dirs (top first) without following any symlink."""

    def __init__(self, lowers: Sequence[Path]) -> None:
        self.lowers = list(lowers)

    def lstat(self, rel: str) -> tuple[Path, os.stat_result] | None:
        parts = rel.split("/")
        for lower in self.lowers:
            p = lower
            st: os.stat_result | None = None
            for i, part in enumerate(parts):
                p = p / part
                try:
                    st = os.lstat(p)
                except OSError as e:
                    if e.errno in (errno.ENOENT, errno.ENOTDIR):
                        st = None
                        break
                    raise
                if is_whiteout(st):
                    return None
                if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                    if stat.S_ISLNK(st.st_mode):
                        return None  # the merged view has no directory here; not this path
                    st = None
                    break
            if st is not None:
                return p, st
            # an opaque directory on the way hides everything below it
            if self._opaque_on_way(lower, parts):
                return None
        return None

    @staticmethod
    def _opaque_on_way(lower: Path, parts: list[str]) -> bool:
        p = lower
        for part in parts[:-1]:
            p = p / part
            if not p.is_dir() or p.is_symlink():
                return False
            if is_opaque(p):
                return True
        return False


class UpperDiff:
    """The changes of an upper dir over its lower dirs (see the module doc)."""

    def __init__(self, upper: Path, lowers: Sequence[Path], runtime_paths: Sequence[str] = ()) -> None:
        self.upper = upper
        self.lowers = _Lowers(lowers)
        self.runtime = {p.strip("/") for p in runtime_paths if p.strip("/")}
        self.runtime_parents = {r.rsplit("/", i)[0] for r in self.runtime for i in range(1, r.count("/") + 1)}
        self.entries = self._walk("", upper)

    def _walk(self, rel: str, dpath: Path) -> list[_Entry]:
        out: list[_Entry] = []
        for name in sorted(os.listdir(dpath)):
            r = f"{rel}/{name}" if rel else name
            p = dpath / name
            st = os.lstat(p)
            if is_whiteout(st):
                if self.lowers.lstat(r) is not None:
                    out.append(_Entry(r, p, st, "D"))
                continue
            below = self.lowers.lstat(r)
            kind = "C" if below is not None else "A"
            if stat.S_ISDIR(st.st_mode):
                opaque = is_opaque(p)
                children = self._walk(r, p)
                if not children and not opaque and self._skip_dir(r, st, below):
                    continue
                out.append(_Entry(r, p, st, kind, opaque))
                out.extend(children)
            else:
                if r in self.runtime and below is None and stat.S_ISREG(st.st_mode) and st.st_size == 0:
                    continue
                out.append(_Entry(r, p, st, kind))
        return out

    def _skip_dir(self, r: str, st: os.stat_result, below: tuple[Path, os.stat_result] | None) -> bool:
        """An empty directory with nothing changed in it: left out if the runtime made it or copied it up."""
        if below is None:
            return r in self.runtime or r in self.runtime_parents
        lst = below[1]
        return (
            r in self.runtime_parents
            and stat.S_ISDIR(lst.st_mode)
            and (st.st_mode, st.st_uid, st.st_gid) == (lst.st_mode, lst.st_uid, lst.st_gid)
        )

    def changes(self) -> list[Change]:
        return sorted((Change(e.kind, "/" + e.name) for e in self.entries), key=lambda c: c.path)

    def write(self, tw: TarWriter) -> None:
        for e in self.entries:
            if e.kind == "D":
                tw.whiteout(e.name, e.st)
                continue
            tw.add(e.name, e.path, e.st)
            if e.opaque:
                tw.opaque(e.name)

    def is_empty(self) -> bool:
        return not self.entries


def write_layer(diff: UpperDiff, sink: AbstractContextManager[Any]) -> LayerBlob:
    """The diff as a gzip-compressed OCI layer written into ``sink`` (a ``BlobStore.writer()``)."""
    return layer_blob(sink, diff.write)
