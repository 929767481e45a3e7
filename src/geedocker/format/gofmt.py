"""Go's fmt for template values: how {{.}} prints a value (%v), fmt.Sprint/Sprintln and the printf verbs."""

from __future__ import annotations

import json
import re


class _NoValue:
    """Go's invalid reflect.Value: a missing map key; prints as <no value>."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()


def go_type(v: object) -> str:
    if v is None or v is NO_VALUE:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    return getattr(v, "go_type", type(v).__name__)


def format_float(f: float, verb: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat(f, verb, prec, 64) for the verbs e, f, g (shortest when prec < 0)."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if verb == "f":
        return f"{f:.{6 if prec < 0 else prec}f}"
    if verb == "e":
        if prec < 0:
            digits, exp = _shortest(f)
            mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
            return ("-" if f < 0 or str(f).startswith("-") else "") + mant + _exp(exp)
        s = f"{f:.{prec}e}"
        m, e = s.split("e")
        return m + _exp(int(e))
    # g
    if prec >= 0:
        s = f"{f:.{prec or 1}g}"
        if "e" in s:
            m, e = s.split("e")
            return m + _exp(int(e))
        return s
    digits, exp = _shortest(f)
    sign = "-" if str(f).startswith("-") else ""
    if exp < -4 or exp >= 6:  # strconv: with the shortest precision, %e from an exponent of 6 on
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return sign + mant + _exp(exp)
    if exp < 0:
        return sign + "0." + "0" * (-exp - 1) + digits
    if exp + 1 >= len(digits):
        return sign + digits + "0" * (exp + 1 - len(digits))
    return sign + digits[: exp + 1] + "." + digits[exp + 1:]


def _exp(e: int) -> str:
    return f"e{'-' if e < 0 else '+'}{abs(e):02d}"


def _shortest(f: float) -> tuple[str, int]:
    """The shortest decimal digits that round-trip f, and the decimal exponent of the first digit."""
    r = repr(abs(f))
    mant, _, e = r.partition("e")
    whole, _, frac = mant.partition(".")
    if frac == "0":
        frac = ""
    digits = (whole + frac).lstrip("0")
    exp = len(whole) - 1 + (int(e) if e else 0)
    if whole == "0":
        stripped = frac.lstrip("0")
        exp = -(len(frac) - len(stripped)) - 1 + (int(e) if e else 0)
        digits = stripped
    digits = digits.rstrip("0") or "0"
    return digits, exp


def sprint_value(v: object, top: bool = True) -> str:
    """fmt's %v of a value; at the top of an action a nil prints <no value> as text/template does."""
    if v is NO_VALUE:
        return "<no value>"
    if v is None:
        return "<no value>" if top else "<nil>"
    if isinstance(v, str):
        go = getattr(v, "go_string", None)  # a typed string (a Go time.Time) prints its own way
        return v if go is None else str(go())
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float(v)
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(sprint_value(x, False) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{sprint_value(k, False)}:{sprint_value(v[k], False)}" for k in sorted_keys(v)) + "]"
    s = getattr(v, "go_string", None)
    if callable(s):
        return str(s())
    return str(v)


def sorted_keys(d: dict[object, object]) -> list[object]:
    try:
        return sorted(d)  # type: ignore[type-var]
    except TypeError:
        return list(d)


def sprint(args: list[object]) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out: list[str] = []
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(sprint_value(a, False))
    return "".join(out)


def sprintln(args: list[object]) -> str:
    return " ".join(sprint_value(a, False) for a in args) + "\n"


def go_quote(s: str) -> str:
    """strconv.Quote."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch in "\a\b\f\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif not ch.isprintable() and ch != " ":
            out.append(f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d+)?)?([a-zA-Z%])")


def _bad(verb: str, v: object) -> str:
    return f"%!{verb}({go_type(v)}={sprint_value(v, False)})"


def _pad(s: str, flags: str, width: int | None, zero_ok: bool = False) -> str:
    if width is None or len(s) >= width:
        return s
    if "-" in flags:
        return s + " " * (width - len(s))
    if "0" in flags and zero_ok:
        sign = s[0] if s[:1] in "+- " and s[:1] else ""
        body = s[len(sign):]
        return sign + "0" * (width - len(s)) + body
    return " " * (width - len(s)) + s


def _one(verb: str, flags: str, width: int | None, prec: int | None, v: object) -> str:
    if verb in ("v", "s") and isinstance(v, (list, tuple)) and verb == "s":
        return "[" + " ".join(_one("s", flags, width, prec, x) for x in v) + "]"
    if verb == "v":
        if isinstance(v, float) and prec is not None:
            return _pad(format_float(v, "g", prec), flags, width, True)
        s = sprint_value(v, False)
        if "+" in flags and isinstance(v, (int, float)) and not isinstance(v, bool) and not s.startswith("-"):
            s = "+" + s
        return _pad(s, flags, width, isinstance(v, (int, float)))
    if verb == "T":
        return _pad(go_type(v), flags, width)
    if verb == "t":
        return _pad("true" if v else "false", flags, width) if isinstance(v, bool) else _bad(verb, v)
    if verb in "sq" and isinstance(v, str):
        s = v[:prec] if prec is not None else v
        if verb == "q":
            s = "`" + s + "`" if "#" in flags and "`" not in s else go_quote(s)
        return _pad(s, flags, width)
    if verb == "q" and isinstance(v, int) and not isinstance(v, bool):
        return _pad("'" + go_quote(chr(v))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'", flags, width)
    if verb in "xX" and isinstance(v, str):
        s = v.encode().hex()
        return _pad(s.upper() if verb == "X" else s, flags, width)
    if isinstance(v, bool) or v is None:
        return _bad(verb, v)
    if isinstance(v, int):
        if verb in "dboxXcU":
            if verb == "c":
                return _pad(chr(v), flags, width)
            if verb == "U":
                return _pad(f"U+{v:04X}", flags, width)
            spec = {"d": "d", "b": "b", "o": "o", "x": "x", "X": "X"}[verb]
            sign = "+" if "+" in flags else (" " if " " in flags else "")
            s = format(v, sign + ("#" if "#" in flags and verb in "xX" else "") + spec)
            if "#" in flags and verb == "o":
                s = s.replace(format(abs(v), "o"), "0" + format(abs(v), "o"))
            if prec is not None:
                digits = s.lstrip("+- ")
                s = s[: len(s) - len(digits)] + digits.rjust(prec, "0")
            return _pad(s, flags, width, prec is None)
        if verb in "eEfFgG":
            v = float(v)
        else:
            return _bad(verb, v)
    if isinstance(v, float):
        if verb in "eEfFgG":
            s = format_float(v, verb.lower(), -1 if prec is None and verb in "gG" else (6 if prec is None else prec))
            if verb.isupper():
                s = s.upper()
            if "+" in flags and not s.startswith("-"):
                s = "+" + s
            return _pad(s, flags, width, True)
        return _bad(verb, v)
    return _bad(verb, v)


def sprintf(fmt: str, args: list[object]) -> str:
    """fmt.Sprintf with Go's verbs and its %!verb(MISSING) / %!(EXTRA ...) markers."""
    out: list[str] = []
    n = 0
    pos = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width_s, prec_s, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        width: int | None = None
        prec: int | None = None
        if width_s == "*":
            width = int(args[n]) if n < len(args) and isinstance(args[n], int) else None  # type: ignore[call-overload]
            n += 1
        elif width_s:
            width = int(width_s)
        if prec_s == "*":
            prec = int(args[n]) if n < len(args) and isinstance(args[n], int) else 0  # type: ignore[call-overload]
            n += 1
        elif prec_s is not None:
            prec = int(prec_s)
        elif m.group(0).find(".") >= 0:
            prec = 0
        if n >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_one(verb, flags, width, prec, args[n]))
        n += 1
    out.append(fmt[pos:])
    if n < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{go_type(a)}={sprint_value(a, False)}" for a in args[n:]) + ")")
    return "".join(out)


def go_json(v: object) -> str:
    """encoding/json without HTML escaping, as docker's json function. Objects give their JSON through to_json();
    docker's list contexts marshal themselves with json.Marshal, which does escape <, > and & (so its
    ``--format json`` shows ``"\\u003cnone\\u003e"``): theirs are escaped too."""
    text = json.dumps(_jsonable(v), ensure_ascii=False, separators=(",", ":")).replace(
        "\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if getattr(v, "marshals_with_escaping", False):
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text


def _jsonable(v: object) -> object:
    if v is NO_VALUE:
        return None
    to_json = getattr(v, "to_json", None)
    if callable(to_json):
        return to_json()
    if isinstance(v, tuple):
        return list(v)
    return v
