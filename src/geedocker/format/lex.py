"""The lexer of Go's text/template: source text -> tokens (text, and the words inside ``{{ }}``), and the
constants' syntax (quoted strings, runes, numbers)."""

from __future__ import annotations

import re

from geedocker.format.nodes import TemplateError
from geedocker.values import value

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n]+)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<number>[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+
                     |(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?))
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<dot>\.)
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)

_KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "nil", "template", "with"}
_SPACE = " \t\r\n"


@value
class Token:
    kind: str
    text: str
    pos: int


def line_of(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


def lex(src: str, name: str = "") -> list[Token]:
    toks: list[Token] = []
    i = 0
    n = len(src)
    while i < n:
        j = src.find("{{", i)
        if j < 0:
            toks.append(Token("text", src[i:], i))
            break
        text = src[i:j]
        trim_left = src.startswith("{{-", j) and j + 3 < n and src[j + 3] in _SPACE
        if trim_left:
            text = text.rstrip(_SPACE)
        if text:
            toks.append(Token("text", text, i))
        k = j + (4 if trim_left else 2)
        if src.startswith("/*", k):  # a comment: {{/* ... */}}, trim markers allowed
            end = src.find("*/", k + 2)
            if end < 0:
                raise TemplateError(f"template: {name}:{line_of(src, j)}: unclosed comment")
            k = end + 2
            trim_right = src.startswith(" -}}", k)
            if not trim_right and not src.startswith("}}", k):
                raise TemplateError(f"template: {name}:{line_of(src, j)}: comment ends before closing delimiter")
            i = k + (4 if trim_right else 2)
            if trim_right:
                while i < n and src[i] in _SPACE:
                    i += 1
            continue
        toks.append(Token("left", "{{", j))
        paren = 0
        while True:
            if k >= n:
                raise TemplateError(f"template: {name}:{line_of(src, j)}: unclosed action")
            if src.startswith(" -}}", k) or src.startswith("}}", k):
                trim_right = src[k] == " "
                toks.append(Token("right", "}}", k))
                if paren:
                    raise TemplateError(f"template: {name}:{line_of(src, k)}: unclosed left paren")
                k += 4 if trim_right else 2
                if trim_right:
                    while k < n and src[k] in _SPACE:
                        k += 1
                break
            m = _TOKEN.match(src, k)
            if m is None or m.lastgroup is None:
                if src[k] in "\"`'":
                    raise TemplateError(f"template: {name}:{line_of(src, k)}: unterminated quoted string")
                raise TemplateError(f"template: {name}:{line_of(src, k)}: unexpected {src[k]!r} in command")
            kind = m.lastgroup
            if kind == "ident" and m.group() in _KEYWORDS:
                kind = m.group()
            elif kind == "ident" and m.group() in ("true", "false"):
                kind = "bool"
            elif kind == "lparen":
                paren += 1
            elif kind == "rparen":
                paren -= 1
                if paren < 0:
                    raise TemplateError(f"template: {name}:{line_of(src, k)}: unexpected right paren")
            toks.append(Token(kind, m.group(), k))
            k = m.end()
        i = k
    toks.append(Token("eof", "", n))
    return toks


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"'}


def unquote(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == "x":
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        elif e == "u":
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif e == "U":
            out.append(chr(int(body[i + 2:i + 10], 16)))
            i += 10
        elif e in "01234567":
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            raise ValueError(f"invalid escape \\{e}")
    return "".join(out)


def parse_number(text: str) -> int | float:
    t = text.replace("_", "")
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    low = t.lower()
    if low.startswith(("0x", "0b", "0o")):
        return sign * int(t, 0)
    if "." in t or "e" in low:
        return sign * float(t)
    if len(t) > 1 and t.startswith("0"):
        return sign * int(t, 8)
    return sign * int(t)
