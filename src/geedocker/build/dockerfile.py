"""The Dockerfile parser: text -> instructions, with the reference's rules.

- Parser directives (``# syntax=``, ``# escape=``, ``# check=``) are read from the top until the first
  line that is not one (a comment, a blank line or an instruction); unknown ones are comments.
- A line ending in the escape character (``\\`` or the ``escape`` directive's) continues on the next; comment
  lines and blank lines inside a continued instruction are dropped.
- Heredocs for RUN, COPY and ADD: ``<<WORD``, ``<<-WORD`` (leading tabs stripped), ``<<"WORD"`` /
  ``<<'WORD'`` (no expansion); several per instruction; the body follows the instruction's line.
- Flags (``--name=value``, ``--name``) are read from the start of an instruction's arguments.
- Each instruction's arguments in its form: exec (JSON array) or shell for RUN, CMD, ENTRYPOINT; JSON or
  words for COPY, ADD, VOLUME; key=value pairs (or the legacy ``ENV key value``) for ENV and LABEL;
  ``ONBUILD`` holds a parsed instruction. An unknown instruction is an error naming its line.

Variables are not substituted here: that depends on the stage and build args (``stages``).
"""

from __future__ import annotations

import json
import re

from geedocker.build.shellwords import raw_words
from geedocker.errors import UsageError
from geedocker.values import value

INSTRUCTIONS = frozenset({
    "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label", "maintainer",
    "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
})  # fmt: skip
_HEREDOC_INSTRUCTIONS = frozenset({"run", "copy", "add"})
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)\s*(?:\"([^\"]+)\"|'([^']+)'|([a-zA-Z0-9_./-]+))")
# a word of a RUN, COPY or ADD that is a heredoc's marker (``<<EOF``), for the steps that take its body
HEREDOC_WORD = re.compile(r"^<<-?[\"']?([a-zA-Z0-9_./-]+)[\"']?$")


class DockerfileError(UsageError):
    """A Dockerfile that does not parse; the message names the line."""

    exit_code = 1


@value
class Heredoc:
    name: str
    content: str
    expand: bool = True  # an unquoted delimiter: variables in the body are substituted


@value
class Instruction:
    cmd: str  # lower case
    line: int  # first line, 1-based
    original: str  # the logical line (continuations joined), heredoc bodies not included
    rest: str  # the arguments after the flags, as written
    flags: tuple[tuple[str, str | None], ...] = ()  # --name=value (None for a bare --name), in order
    args: tuple[str, ...] = ()  # exec-form items, words, or key/value items (see the module doc)
    json: bool = False  # exec form
    heredocs: tuple[Heredoc, ...] = ()
    trigger: Instruction | None = None  # ONBUILD's instruction

    def flag(self, name: str) -> str | None:
        """The last value of ``--name`` (``""`` for a bare flag), None if absent."""
        out: str | None = None
        for k, v in self.flags:
            if k == name:
                out = "" if v is None else v
        return out

    def flag_all(self, name: str) -> list[str]:
        return ["" if v is None else v for k, v in self.flags if k == name]

    def error(self, message: str) -> DockerfileError:
        return DockerfileError(f"Dockerfile line {self.line}: {self.cmd.upper()}: {message}")


@value
class Dockerfile:
    instructions: tuple[Instruction, ...]
    escape: str = "\\"
    directives: tuple[tuple[str, str], ...] = ()


def _directives(lines: list[str]) -> tuple[dict[str, str], int]:
    found: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i].strip()) if lines[i].lstrip().startswith("#") else None
        if m is None:
            break
        key = m.group(1).lower()
        if key in found:
            raise DockerfileError(f"Dockerfile line {i + 1}: only one {key} parser directive can be used")
        found[key] = m.group(2)
        i += 1
    return found, i


def _ends_with_escape(line: str, escape: str) -> bool:
    return line.rstrip().endswith(escape)


def parse(text: str) -> Dockerfile:
    """Parse a whole Dockerfile."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    directives, i = _directives(lines)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(f"invalid escape token {escape!r}: it must be ` or \\")
    out: list[Instruction] = []
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts: list[str] = []
        cur = line.rstrip()
        while _ends_with_escape(cur, escape):
            parts.append(cur.rstrip()[:-1])
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].strip().startswith("#")):
                i += 1  # comments and blank lines inside a continuation are dropped
            if i >= len(lines):
                cur = ""
                break
            cur = lines[i].rstrip()
        parts.append(cur)
        logical = "".join(parts).strip()
        i += 1
        ins, i = _instruction(logical, start + 1, lines, i, escape)
        out.append(ins)
    return Dockerfile(tuple(out), escape, tuple(sorted(directives.items())))


def _split_flags(rest: str) -> tuple[list[tuple[str, str | None]], str]:
    flags: list[tuple[str, str | None]] = []
    while rest.startswith("--"):
        m = re.match(r"--([a-zA-Z0-9-]+)(?:=(\"[^\"]*\"|'[^']*'|\S*))?(\s+|$)", rest)
        if m is None:
            break
        val = m.group(2)
        if val is not None and len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
            val = val[1:-1]
        flags.append((m.group(1), val))
        rest = rest[m.end() :]
    return flags, rest.strip()


def _json_array(rest: str) -> tuple[str, ...] | None:
    if not rest.startswith("["):
        return None
    try:
        v = json.loads(rest)
    except ValueError:
        return None
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return tuple(v)
    return None


def _heredocs(rest: str, lines: list[str], i: int, line_no: int) -> tuple[list[Heredoc], int]:
    docs: list[Heredoc] = []
    for m in _HEREDOC.finditer(rest):
        chomp = m.group(1) == "-"
        quoted = m.group(2) or m.group(3)
        name = quoted or m.group(4)
        body: list[str] = []
        while True:
            if i >= len(lines):
                raise DockerfileError(f"Dockerfile line {line_no}: unterminated heredoc {name}")
            ln = lines[i]
            i += 1
            check = ln.lstrip("\t") if chomp else ln
            if check == name:
                break
            body.append(check)
        docs.append(Heredoc(name, "".join(b + "\n" for b in body), expand=not quoted))
    return docs, i


def _instruction(logical: str, line_no: int, lines: list[str], i: int, escape: str) -> tuple[Instruction, int]:
    word, _, rest = logical.partition(" ")
    if "\t" in word:
        word, _, more = word.partition("\t")
        rest = more + " " + rest
    cmd = word.lower()
    rest = rest.strip()
    if cmd not in INSTRUCTIONS:
        raise DockerfileError(f"Dockerfile line {line_no}: unknown instruction: {word.upper()}")
    flags, body = _split_flags(rest) if cmd not in ("onbuild",) else ([], rest)
    heredocs: list[Heredoc] = []
    if cmd in _HEREDOC_INSTRUCTIONS and "<<" in body:
        heredocs, i = _heredocs(body, lines, i, line_no)
    ins = Instruction(cmd, line_no, logical, body, tuple(flags), heredocs=tuple(heredocs))
    return _args(ins, escape), i


def _args(ins: Instruction, escape: str) -> Instruction:
    from geedocker.values import replace

    cmd, rest = ins.cmd, ins.rest
    if cmd in ("run", "cmd", "entrypoint", "shell", "volume", "copy", "add"):
        arr = _json_array(rest)
        if arr is not None:
            if cmd in ("copy", "add") and len(arr) < 2 and not ins.heredocs:
                raise ins.error("requires at least two arguments")
            return replace(ins, args=arr, json=True)
        if cmd == "shell":
            raise ins.error("SHELL requires the arguments to be in JSON form")
        if cmd in ("copy", "add", "volume"):
            words = raw_words(rest, escape)
            if cmd != "volume" and len(words) < 2 and not ins.heredocs:
                raise ins.error(f"{cmd.upper()} requires at least two arguments, but only one was provided. "
                                "Destination could not be determined")
            if cmd == "volume" and not words:
                raise ins.error("VOLUME requires at least one argument")
            return replace(ins, args=tuple(words))
        return replace(ins, args=(rest,))
    if cmd in ("env", "label"):
        return replace(ins, args=_name_values(ins, escape))
    if cmd == "arg":
        words = raw_words(rest, escape)
        if not words:
            raise ins.error("ARG requires at least one argument")
        return replace(ins, args=tuple(words))
    if cmd == "onbuild":
        trig_word = rest.split(None, 1)[0].lower() if rest.split() else ""
        if trig_word in ("onbuild", "from", "maintainer"):
            raise ins.error(f"{trig_word.upper()} isn't allowed as an ONBUILD trigger")
        if not rest:
            raise ins.error("ONBUILD requires at least one argument")
        trigger, _ = _instruction(rest, ins.line, [], 0, escape)
        return replace(ins, trigger=trigger, args=(rest,))
    if cmd == "healthcheck":
        first = rest.split(None, 1)
        if not first:
            raise ins.error("HEALTHCHECK requires an argument")
        if first[0].upper() == "NONE":
            if len(first) > 1 or ins.flags:
                raise ins.error("HEALTHCHECK NONE takes no other arguments")
            return replace(ins, args=("NONE",))
        if first[0].upper() != "CMD":
            raise ins.error(f'Unknown type "{first[0]}" in HEALTHCHECK (try CMD)')
        body = first[1].strip() if len(first) > 1 else ""
        arr = _json_array(body)
        if arr is not None:
            return replace(ins, args=arr, json=True)
        return replace(ins, args=(body,))
    if cmd in ("from", "expose", "user", "workdir", "stopsignal", "maintainer"):
        words = rest.split() if cmd in ("from", "expose") else [rest]
        if not rest:
            raise ins.error(f"{cmd.upper()} requires at least one argument")
        if cmd in ("user", "workdir", "stopsignal") and len(raw_words(rest, escape)) != 1 and cmd != "workdir":
            raise ins.error(f"{cmd.upper()} requires exactly one argument")
        return replace(ins, args=tuple(words))
    return ins


def _name_values(ins: Instruction, escape: str) -> tuple[str, ...]:
    """ENV/LABEL: ``k=v ...`` items (raw, unexpanded) as ``k=v``; the legacy ``ENV k v w`` as ``k=v w``."""
    words = raw_words(ins.rest, escape)
    if not words:
        raise ins.error(f"{ins.cmd.upper()} requires at least one argument")
    if "=" not in words[0]:
        if ins.cmd == "label":
            raise ins.error("LABEL requires key=value pairs")
        key, _, val = ins.rest.partition(" ")
        if not val.strip():
            raise ins.error("ENV must have two arguments")
        return (f"{key}={val.strip()}",)
    for w in words:
        if "=" not in w:
            raise ins.error(f"Syntax error - can't find = in {w!r}. Must be of the form: name=value")
        if w.startswith("="):
            raise ins.error("name can't be empty")
    return tuple(words)
