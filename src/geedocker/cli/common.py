"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from geedocker.store.layout import Layout


def layout_of(args: argparse.Namespace) -> Layout:
    return Layout.from_env(getattr(args, "root", None), getattr(args, "run_root", None))


def each_container(refs: list[str], act: Callable[[str], str]) -> int:
    """``act`` on each container in turn, printing the line it returns, or the error of one that fails (the
    others still go ahead, as with docker). 0, or the exit status of the last failure."""
    from geedocker.errors import GeeDockerError

    code = 0
    for ref in refs:
        try:
            print(act(ref), flush=True)
        except GeeDockerError as e:
            print(f"Error: {e}", file=sys.stderr)
            code = e.exit_code or 1
    return code


def parse_time(text: str) -> float | None:
    """An RFC 3339 timestamp (as in image configs) -> epoch seconds, or None."""
    from geedocker.timefmt import parse_rfc3339

    t = parse_rfc3339(text)
    return None if t is None else t.timestamp()


def ago(epoch: float | None) -> str:
    import time

    from geedocker.timefmt import human_duration

    if epoch is None:
        return "N/A"
    return human_duration(time.time() - epoch) + " ago"


def table(rows: list[list[str]]) -> str:
    """Columns laid out as docker's tabwriter does (minwidth 10, padding 3; the last column unpadded)."""
    from geedocker.format.tabwriter import align

    return align("\n".join("\t".join(r) for r in rows)) if rows else ""


def inspect_text(objects: list[object], fmt: str = "") -> str:
    """``inspect`` output as docker's: a JSON array indented by 4 (with Go's escaping of <, > and &), or with
    -f/--format each object's template text on a line (a missing key is an error, as docker's raw fallback)."""
    if not fmt:
        import json

        text = json.dumps(objects, indent=4, ensure_ascii=False)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"
    from geedocker.format import docker

    tmpl = docker.parse(docker.template_text(fmt), missingkey="error")
    return "".join(docker.execute(tmpl, o) + "\n" for o in objects) or "\n"
