"""docker's --format: its template functions, the `table` and `json` formats, and its tabwriter layout.

As docker/cli's formatter: ``table`` prefixes a template whose header row comes from executing the same
template over the column headers (with the text functions made identity, so a header stays intact), and the
rows are aligned by tabwriter (minwidth 10, padding 3); ``json`` is ``{{json .}}``; "\\t" and "\\n" typed in the
format are tab and newline. A template error is docker's "template parsing error: ..." and exits 1.
"""

from __future__ import annotations

from geedocker.format.builtins import FuncError
from geedocker.format.execute import Template
from geedocker.format.gofmt import go_json, go_type, sorted_keys, sprint_value
from geedocker.format.nodes import TemplateError
from geedocker.format.tabwriter import align

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


class FormatError(TemplateError):
    """docker prints these without its "Error: " prefix."""

    prefix = ""


def _string(v: object) -> str:
    if not isinstance(v, str):
        raise FuncError(f"wrong type for value; expected string; got {go_type(v)}")
    return v


def _int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise FuncError(f"wrong type for value; expected int; got {go_type(v)}")
    return v


def _split(s: object, sep: object) -> list[str]:
    text, sep_s = _string(s), _string(sep)
    return list(text) if sep_s == "" else text.split(sep_s)


def _join(elems: object, sep: object) -> str:
    sep_s = _string(sep)
    if elems is None:
        return ""
    if isinstance(elems, (list, tuple)):
        return sep_s.join(sprint_value(e, False) for e in elems)
    if isinstance(elems, dict):
        return sep_s.join(sorted(sprint_value(elems[k], False) for k in sorted_keys(elems)))
    raise FuncError(f"expected slice, got {go_type(elems)}")


def _title(s: object) -> str:
    """strings.Title: the first letter of each word upper-cased (a word follows a space or punctuation)."""
    out: list[str] = []
    prev = " "
    for ch in _string(s):
        out.append(ch.upper() if not (prev.isalnum() or prev == "_") else ch)
        prev = ch
    return "".join(out)


def _pad(s: object, prefix: object, suffix: object) -> str:
    text = _string(s)
    return text if text == "" else " " * _int(prefix) + text + " " * _int(suffix)


def _truncate(s: object, length: object) -> str:
    text, n = _string(s), _int(length)
    return text if len(text) < n else text[:n]


FUNCS: dict[str, Callable[..., object]] = {
    "json": go_json,
    "split": _split,
    "join": _join,
    "title": _title,
    "lower": lambda s: _string(s).lower(),
    "upper": lambda s: _string(s).upper(),
    "pad": _pad,
    "truncate": _truncate,
}

HEADER_FUNCS: dict[str, Callable[..., object]] = {
    "json": lambda v: v,
    "split": lambda v, _sep: v,
    "join": lambda v, _sep: v,
    "title": lambda v: v,
    "lower": lambda v: v,
    "upper": lambda v: v,
    "truncate": lambda v, _n: v,
}


def is_table(fmt: str) -> bool:
    return fmt.startswith("table")


def template_text(fmt: str) -> str:
    """The template a --format value stands for (docker/cli's Format.templateString)."""
    if fmt == "table":
        return ""
    if fmt == "json":
        return "{{json .}}"
    if fmt.startswith("table"):
        fmt = fmt[len("table"):]
    return fmt.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


class TemplateParseError(FormatError):
    """A template that does not parse, where docker's CLI exits 64 (inspect)."""

    exit_code = 64


def parse(fmt: str, missingkey: str = "default") -> Template:
    """A docker template (the text, not a --format value); its errors are docker's "template parsing error"."""
    try:
        return Template(fmt, FUNCS, missingkey=missingkey)
    except TemplateError as e:
        raise TemplateParseError(f"template parsing error: {e}") from e


def check(fmt: str, sample: object) -> None:
    """docker 28's ps check of a --format value before listing: parsed as it is and run on an empty row."""
    try:
        tmpl = Template(fmt, FUNCS)
    except TemplateError as e:
        raise FormatError(f"failed to parse template: {e}") from e
    try:
        tmpl.execute(sample)
    except TemplateError as e:
        raise FormatError(f"failed to execute template: {e}") from e


def execute(tmpl: Template, data: object) -> str:
    try:
        return tmpl.execute(data)
    except TemplateError as e:
        raise FormatError(f"template parsing error: {e}") from e


def render(fmt: str, rows: Iterable[object], headers: Mapping[str, str] | None = None) -> str:
    """A list command's output for a --format value: each row's line, under a header and aligned for `table`."""
    try:
        tmpl = parse(template_text(fmt))
    except TemplateParseError as e:  # for lists, docker's CLI exits 1 here
        raise FormatError(str(e)) from e
    body = "".join(execute(tmpl, row) + "\n" for row in rows)
    if not is_table(fmt):
        return body
    header: list[str] = []
    try:  # as docker, a header that fails part way keeps what it made
        tmpl.execute(dict(headers or {}), HEADER_FUNCS, out=header)
    except TemplateError:
        pass
    return align("".join(header) + "\n" + body)


def render_one(fmt: str, data: object, missingkey: str = "default") -> str:
    """One object's text for `inspect -f`, `version -f` and the like (the caller adds the newline)."""
    return execute(parse(template_text(fmt), missingkey), data)
