"""The build context and COPY/ADD sources: matching, safe resolution, content digests.

A source is named relative to a root (the context dir, or another stage's or image's file tree) and
resolved inside it as in a chroot (``..`` and symlinks never leave it, see ``containers.paths``): a
context symlink pointing outside names a path inside the context (usually missing), never a host file.
Wildcards match per path component like Go's ``filepath.Match``. Paths the ``.dockerignore`` excludes do
not exist for COPY and ADD.

``digest_sources`` is what the build cache compares for COPY and ADD: names, types, modes, owners, link
targets and content of everything copied; mtimes are left out (as BuildKit does).
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from geedocker.build.dockerignore import Ignore
from geedocker.containers.paths import secure_join
from geedocker.errors import UsageError
from geedocker.values import value


class SourceError(UsageError):
    """A COPY or ADD source that does not exist (or is outside the context)."""

    exit_code = 1


@value
class Source:
    rel: str  # the path inside the root ("" for the root itself), as matched
    path: Path  # the host path (resolved inside the root)


def _has_magic(s: str) -> bool:
    return any(c in s for c in "*?[")


class Tree:
    """A file tree COPY reads from: the context (with its ignore rules) or a stage's or image's root."""

    def __init__(self, root: Path, ignore: Ignore | None = None) -> None:
        self.root = root
        self.ignore = ignore or Ignore([])

    def visible(self, rel: str) -> bool:
        return not rel or not self.ignore.excluded(rel)

    def match(self, pattern: str) -> list[Source]:
        """The sources a COPY argument names, sorted; wildcards per component."""
        clean = os.path.normpath("/" + pattern).lstrip("/")
        if clean in ("", "."):
            return [Source("", self.root)]
        parts = clean.split("/")
        found: list[str] = [""]
        for part in parts:
            nxt: list[str] = []
            for base in found:
                if not _has_magic(part):
                    nxt.append(f"{base}/{part}" if base else part)
                    continue
                d = secure_join(self.root, base) if base else self.root
                try:
                    names = sorted(os.listdir(d))
                except OSError:
                    continue
                nxt += [f"{base}/{n}" if base else n for n in names if fnmatch.fnmatchcase(n, part)]
            found = nxt
        out = []
        for rel in found:
            p = secure_join(self.root, rel)
            if (os.path.lexists(p) or p.exists()) and self.visible(rel):
                out.append(Source(rel, p))
        if not out and not _has_magic(clean):
            raise SourceError(f"COPY failed: file not found in build context or excluded by .dockerignore: "
                              f"stat {pattern}: file does not exist")
        return sorted(out, key=lambda s: s.rel)

    def walk(self, src: Source, excludes: Ignore | None = None) -> Iterator[tuple[str, Path, os.stat_result]]:
        """(path relative to ``src``, host path, lstat) of ``src`` and everything under it, visible only."""
        st = os.stat(src.path) if src.path.is_dir() else os.lstat(src.path)
        yield "", src.path, st
        if not stat.S_ISDIR(st.st_mode):
            return
        yield from self._walk(src.path, src.rel, "", excludes)

    def _walk(self, d: Path, rel: str, sub: str, excludes: Ignore | None) -> Iterator[tuple[str, Path, os.stat_result]]:
        for name in sorted(os.listdir(d)):
            r = f"{rel}/{name}" if rel else name
            s = f"{sub}/{name}" if sub else name
            p = d / name
            st = os.lstat(p)
            ignored = not self.visible(r)
            excluded = excludes is not None and excludes.excluded(s)
            if ignored or excluded:
                pruned = (ignored and self.ignore.prunes(r)) or (
                    excluded and excludes is not None and excludes.prunes(s))
                if stat.S_ISDIR(st.st_mode) and not pruned:
                    yield from self._walk(p, r, s, excludes)  # a "!" pattern may bring something inside back
                continue
            yield s, p, st
            if stat.S_ISDIR(st.st_mode):
                yield from self._walk(p, r, s, excludes)


def digest_sources(tree: Tree, sources: list[Source], excludes: Ignore | None = None) -> str:
    """A content digest of ``sources`` (see the module doc)."""
    import hashlib  # here: OpenSSL takes ms to load

    h = hashlib.sha256()
    for src in sources:
        h.update(b"\0src\0" + src.rel.encode("utf-8", "surrogateescape"))
        for name, path, st in tree.walk(src, excludes):
            h.update(f"\0{name}\0{st.st_mode:o}\0{st.st_uid}\0{st.st_gid}\0".encode("utf-8", "surrogateescape"))
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(path).encode("utf-8", "surrogateescape"))
            elif stat.S_ISREG(st.st_mode):
                h.update(str(st.st_size).encode())
                with open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
    return h.hexdigest()
