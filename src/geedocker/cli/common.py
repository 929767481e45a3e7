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
    """Left-aligned columns separated by at least three spaces, like docker's tabwriter output."""
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [c.ljust(widths[i]) for i, c in enumerate(r[:-1])] + [r[-1]]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines)
