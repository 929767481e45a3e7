"""Docker's variable substitution and word splitting for Dockerfile instructions (its ``ShellLex``).

Outside quotes the escape character (``\\`` or the ``# escape`` directive's) takes the next character
literally; single quotes keep everything literal; inside double quotes it escapes only ``"``, ``$`` and
itself. ``$name``, ``${name}``, ``${name:-word}`` (word if unset or empty), ``${name-word}`` (if unset),
``${name:+word}`` (word if set and not empty), ``${name+word}`` (if set), ``${name:?msg}`` / ``${name?msg}``
(an error), and the pattern forms ``${name#pat}``, ``${name##pat}``, ``${name%pat}``, ``${name%%pat}``
(shell globs). An unset variable is empty. A ``$`` not followed by a name is itself.

Written here: no Python library implements docker's rules (``shlex`` neither expands nor knows its
escaping inside double quotes).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

from geedocker.errors import UsageError


class SubstitutionError(UsageError):
    """A ``${name?message}`` of an unset variable, or a malformed ``${...}``."""


def _is_name_char(c: str) -> bool:
    return c.isalnum() or c == "_"


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str, used: set[str] | None) -> None:
        self.s = text
        self.i = 0
        self.env = env
        self.esc = escape
        self.used = used
        self.stopped = False

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def next(self) -> str:
        c = self.peek()
        self.i += 1
        return c

    def lookup(self, name: str) -> str | None:
        if self.used is not None:
            self.used.add(name)
        return self.env.get(name)

    def words(self, split: bool, stop: str = "") -> list[str]:
        """The words (one if not ``split``) up to ``stop`` (consumed) or the end."""
        words: list[str] = []
        cur: list[str] = []
        have = False  # a quoted empty string is a word
        self.stopped = False
        while self.i < len(self.s):
            c = self.peek()
            if stop and c == stop:
                self.i += 1
                self.stopped = True
                break
            if split and c in " \t\r\n":
                self.i += 1
                if cur or have:
                    words.append("".join(cur))
                cur, have = [], False
                continue
            if c == "'":
                self.i += 1
                cur.append(self.single())
                have = True
            elif c == '"':
                self.i += 1
                cur.append(self.double())
                have = True
            elif c == "$":
                self.i += 1
                cur.append(self.dollar())  # docker does not split a variable's value into words
            elif c == self.esc:
                self.i += 1
                if self.i < len(self.s):
                    cur.append(self.next())
                else:
                    cur.append(c)
            else:
                cur.append(self.next())
        if cur or have or not split:
            words.append("".join(cur))
        return words

    def single(self) -> str:
        end = self.s.find("'", self.i)
        if end < 0:
            raise SubstitutionError("unexpected end of statement while looking for matching single-quote")
        out = self.s[self.i : end]
        self.i = end + 1
        return out

    def double(self) -> str:
        out: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise SubstitutionError("unexpected end of statement while looking for matching double-quote")
            c = self.peek()
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "$":
                self.i += 1
                out.append(self.dollar())
                continue
            self.i += 1
            if c == self.esc and self.peek() in ('"', "$", self.esc) and self.peek():
                c = self.next()
            out.append(c)

    def name(self) -> str:
        start = self.i
        while self.i < len(self.s) and _is_name_char(self.s[self.i]):
            self.i += 1
        return self.s[start : self.i]

    def dollar(self) -> str:
        c = self.peek()
        if c != "{":
            name = self.name()
            if not name:
                return "$"
            return self.lookup(name) or ""
        self.i += 1
        name = self.name()
        if not name:
            raise SubstitutionError(f"bad substitution in {self.s!r}")
        c = self.next()
        if c == "}":
            return self.lookup(name) or ""
        if c == ":":
            op = self.next()
            if op not in "-+?":
                raise SubstitutionError(f"unsupported modifier (:{op}) in substitution of {self.s!r}")
            word = self.word_until_brace()
            val = self.lookup(name)
            if op == "-":
                return val if val else word
            if op == "+":
                return word if val else ""
            if not val:
                raise SubstitutionError(f"{name}: {word or 'is not allowed to be unset'}")
            return val
        if c in "-+?":
            word = self.word_until_brace()
            val = self.lookup(name)
            if c == "-":
                return val if val is not None else word
            if c == "+":
                return word if val is not None else ""
            if val is None:
                raise SubstitutionError(f"{name}: {word or 'is not allowed to be unset'}")
            return val
        if c in "#%":
            longest = self.peek() == c
            if longest:
                self.i += 1
            pat = self.word_until_brace()
            return _trim(self.lookup(name) or "", pat, c == "#", longest)
        raise SubstitutionError(f"missing '}}' in substitution of {self.s!r}")

    def word_until_brace(self) -> str:
        start = self.i
        sub = _Lexer(self.s, self.env, self.esc, self.used)
        sub.i = start
        # the word ends at the matching '}', quotes and nested ${} understood
        word = sub.words(split=False, stop="}")
        if not sub.stopped:
            raise SubstitutionError(f"missing '}}' in substitution of {self.s!r}")
        self.i = sub.i
        return word[0] if word else ""


def _trim(val: str, pat: str, prefix: bool, longest: bool) -> str:
    rng = range(len(val), -1, -1) if longest else range(len(val) + 1)
    for n in rng:
        part = val[:n] if prefix else val[len(val) - n :]
        if fnmatch.fnmatchcase(part, pat):
            return val[n:] if prefix else val[: len(val) - n]
    return val


def expand(text: str, env: Mapping[str, str], escape: str = "\\", used: set[str] | None = None) -> str:
    """``text`` with variables substituted and quotes and escapes removed (one word)."""
    return _Lexer(text, env, escape, used).words(split=False)[0]


def split_words(text: str, env: Mapping[str, str], escape: str = "\\", used: set[str] | None = None) -> list[str]:
    """``text`` substituted and split into words at unquoted blanks (quotes and escapes removed)."""
    return _Lexer(text, env, escape, used).words(split=True)


def raw_words(text: str, escape: str = "\\") -> list[str]:
    """Split at unquoted blanks, keeping quotes and escapes in the words (for later ``expand``)."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            cur.append(c)
            if c == escape and quote == '"' and i + 1 < len(text):
                i += 1
                cur.append(text[i])
            elif c == quote:
                quote = ""
        elif c in " \t\r\n":
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(c)
            if c == escape and i + 1 < len(text):
                i += 1
                cur.append(text[i])
            elif c in "'\"":
                quote = c
        i += 1
    if cur:
        words.append("".join(cur))
    return words

