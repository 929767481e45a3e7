"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from geedocker.store.layout import Layout


def layout_of(args: argparse.Namespace) -> Layout:
    layout = Layout.from_env(getattr(args, "root", None), getattr(args, "run_root", None))
    for flag, path in (("--root", layout.root), ("--run-root", layout.run)):
        if not path.is_dir() and path.exists():  # one stat when all is well
            from geedocker.errors import UsageError

            raise UsageError(f"{flag} {path}: not a directory")
    return layout


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
    from geedocker.timefmt import rfc3339_epoch

    return rfc3339_epoch(text)


def ago(epoch: float | None) -> str:
    import time

    from geedocker.timefmt import human_duration

    if epoch is None:
        return "N/A"
    return human_duration(time.time() - epoch) + " ago"


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.3g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000
    return f"{n}B"


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
