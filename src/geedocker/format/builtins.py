"""text/template's predefined functions (and, or, not, len, index, slice, print*, eq..ge, html, js, urlquery, call).

``and`` and ``or`` are evaluated lazily by the executor; they are here so the parser knows them.
"""

from __future__ import annotations

from geedocker.format.gofmt import NO_VALUE, go_type, sprint, sprint_value, sprintf, sprintln

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


class FuncError(Exception):
    """A function's own error: the template reports it as "error calling NAME: ..."."""


def _and(*args: object) -> object:
    raise AssertionError("evaluated by the executor")


def is_true(v: object) -> bool:
    """Go's truth: false, 0, nil, and empty strings, slices and maps are false."""
    if v is None or v is NO_VALUE or getattr(v, "is_nil", False):  # a typed nil pointer too
        return False
    if isinstance(v, (bool, int, float)):
        return bool(v)
    if isinstance(v, (str, list, tuple, dict)):
        return len(v) > 0
    return True


def _not(v: object) -> bool:
    return not is_true(v)


def _len(v: object) -> int:
    if isinstance(v, str):
        return len(v.encode())
    if isinstance(v, (list, tuple, dict)):
        return len(v)
    raise FuncError(f"len of type {go_type(v)}")


def _int_index(i: object, cap: int, name: str = "index") -> int:
    if isinstance(i, bool) or not isinstance(i, int):
        raise FuncError(f"cannot index slice/array with type {go_type(i)}")
    if i < 0 or i > cap:
        raise FuncError(f"index out of range: {i}")
    return i


def _index(item: object, *indexes: object) -> object:
    if item is None:
        raise FuncError("index of untyped nil")
    for ix in indexes:
        if isinstance(item, dict):
            if ix in item:
                item = item[ix]
            else:  # the zero value of the map's element type: "" for maps of strings (labels, options)
                item = "" if all(isinstance(x, str) for x in item.values()) else NO_VALUE
        elif isinstance(item, (list, tuple, str)):
            i = _int_index(ix, len(item) - 1)
            item = item.encode()[i] if isinstance(item, str) else item[i]
        elif item is None or item is NO_VALUE:
            raise FuncError("index of nil pointer")
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _slice(item: object, *indexes: object) -> object:
    if not isinstance(item, (str, list, tuple)):
        raise FuncError(f"can't slice item of type {go_type(item)}")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str) and len(indexes) == 3:
        raise FuncError("cannot 3-index slice a string")
    n = len(item)
    idx = [_int_index(i, n, "slice") for i in indexes]
    lo = idx[0] if idx else 0
    hi = idx[1] if len(idx) > 1 else n
    if lo > hi:
        raise FuncError(f"invalid slice index: {lo} > {hi}")
    return item[lo:hi]


def _basic(v: object) -> tuple[str, object]:
    if isinstance(v, bool):
        return "bool", v
    if isinstance(v, int):
        return "int", v
    if isinstance(v, float):
        return "float", v
    if isinstance(v, str):
        return "string", v
    if v is None or v is NO_VALUE:
        return "nil", None
    raise FuncError("invalid type for comparison")


def _eq(a: object, *bs: object) -> bool:
    if not bs:
        raise FuncError("missing argument for comparison")
    ka, va = _basic(a)
    for b in bs:
        kb, vb = _basic(b)
        if {ka, kb} <= {"int", "float"}:
            if va == vb:
                return True
        elif ka != kb:
            if "nil" in (ka, kb) and ka == kb:
                return True
            raise FuncError("incompatible types for comparison")
        elif va == vb:
            return True
    return False


def _ne(a: object, b: object) -> bool:
    return not _eq(a, b)


def _lt(a: object, b: object) -> bool:
    ka, va = _basic(a)
    kb, vb = _basic(b)
    if ka in ("bool", "nil") or kb in ("bool", "nil"):
        raise FuncError("invalid type for comparison")
    if ka != kb and not {ka, kb} <= {"int", "float"}:
        raise FuncError("incompatible types for comparison")
    return bool(va < vb)  # type: ignore[operator]


def _le(a: object, b: object) -> bool:
    return _lt(a, b) or _eq(a, b)


def _gt(a: object, b: object) -> bool:
    return not _le(a, b)


def _ge(a: object, b: object) -> bool:
    return not _lt(a, b)


def _text(args: tuple[object, ...]) -> str:
    """A function's operands as Go's escapers take them: one string as it is, else fmt.Sprint."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(list(args))


def _html(*args: object) -> str:
    s = _text(args)
    return (s.replace("\0", "\ufffd").replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&#34;"))


def _js(*args: object) -> str:
    out: list[str] = []
    for ch in _text(args):
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=":
            out.append(f"\\u{ord(ch):04X}")
        elif ord(ch) < 0x20 or not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _urlquery(*args: object) -> str:
    from urllib.parse import quote_plus  # only templates that ask for it pay for urllib's import
    return quote_plus(_text(args), safe="")


def _call(fn: object, *args: object) -> object:
    if not callable(fn):
        raise FuncError(f"non-function of type {go_type(fn)}")
    return fn(*args)


def _print(*args: object) -> str:
    return sprint(list(args))


def _println(*args: object) -> str:
    return sprintln(list(args))


def _printf(fmt: str, *args: object) -> str:
    if not isinstance(fmt, str):
        raise FuncError(f"wrong type for value; expected string; got {go_type(fmt)}")
    return sprintf(fmt, list(args))


FUNCS: dict[str, Callable[..., object]] = {
    "and": _and,
    "or": _and,
    "not": _not,
    "len": _len,
    "index": _index,
    "slice": _slice,
    "print": _print,
    "printf": _printf,
    "println": _println,
    "eq": _eq,
    "ne": _ne,
    "lt": _lt,
    "le": _le,
    "gt": _gt,
    "ge": _ge,
    "html": _html,
    "js": _js,
    "urlquery": _urlquery,
    "call": _call,
}

__all__ = ["FUNCS", "FuncError", "sprint_value"]
