"""``.dockerignore``: which context paths the build does not see, with docker's semantics.

One pattern a line; ``#`` lines are comments; blanks are trimmed and empty lines skipped. A pattern is
cleaned like Go's ``filepath.Clean`` (a leading ``/`` dropped) and matched like Go's ``filepath.Match``
(``*`` and ``?`` never match ``/``, ``[...]`` classes, ``\\`` escapes) plus ``**`` for any number of
directories, zero included. ``!pattern`` re-includes what it matches. Patterns are read in order and the
last one that matches a path decides; a pattern that matches one of a path's parent directories matches
the path too. ``<Dockerfile>.dockerignore`` next to the Dockerfile takes the place of the context's.

The Dockerfile and ``.dockerignore`` are read by the builder even when ignored, but COPY and ADD never
see an ignored path.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from geedocker.values import value


@value
class Pattern:
    text: str
    regex: re.Pattern[str]
    exclusion: bool


def _clean(p: str) -> str:
    c = posixpath.normpath(p) if p else "."
    if c.startswith("//"):
        c = "/" + c.lstrip("/")
    if len(c) > 1 and c.startswith("/"):
        c = c[1:]
    return c


def _compile(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("^"):
                    body = "!" + body[1:]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
                i = end
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    out.append("$")
    return re.compile("".join(out), re.S)


def read_patterns(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        invert = line.startswith("!")
        if invert:
            line = line[1:].strip()
        line = _clean(line)
        out.append(("!" if invert else "") + line)
    return out


class Ignore:
    """Compiled patterns; ``excluded(path)`` for a context-relative path (``a/b/c``)."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = []
        for p in patterns:
            ex = p.startswith("!")
            body = p[1:] if ex else p
            self.patterns.append(Pattern(p, _compile(body), ex))
        self.has_exclusions = any(p.exclusion for p in self.patterns)

    @classmethod
    def for_build(cls, context: Path, dockerfile: Path | None) -> Ignore:
        """The context's patterns: ``<Dockerfile>.dockerignore`` if it exists, else ``.dockerignore``."""
        candidates = []
        if dockerfile is not None:
            candidates.append(dockerfile.parent / (dockerfile.name + ".dockerignore"))
        candidates.append(context / ".dockerignore")
        for c in candidates:
            try:
                return cls(read_patterns(c.read_text(errors="surrogateescape")))
            except (FileNotFoundError, NotADirectoryError):
                continue
        return cls([])

    def excluded(self, path: str) -> bool:
        path = _clean(path)
        parents = path.split("/")[:-1]
        matched = False
        for p in self.patterns:
            if p.exclusion != matched:
                continue
            hit = bool(p.regex.match(path))
            if not hit:
                for i in range(len(parents)):
                    if p.regex.match("/".join(parents[: i + 1])):
                        hit = True
                        break
            if hit:
                matched = not p.exclusion
        return matched

    def prunes(self, directory: str) -> bool:
        """True when ``directory`` is excluded and no ``!`` pattern could bring anything inside it back."""
        if not self.excluded(directory):
            return False
        if not self.has_exclusions:
            return True
        d = _clean(directory) + "/"
        for p in self.patterns:
            if not p.exclusion:
                continue
            body = p.text[1:]
            literal = re.split(r"[*?\[\\]", body, maxsplit=1)[0]
            if literal.startswith(d) or d.startswith(literal) or not literal:
                return False
        return True
