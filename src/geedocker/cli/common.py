"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse

from geedocker.store.layout import Layout


def layout_of(args: argparse.Namespace) -> Layout:
    return Layout.from_env(getattr(args, "root", None), getattr(args, "run_root", None))


def parse_time(text: str) -> float | None:
    """An RFC 3339 timestamp (as in image configs) -> epoch seconds, or None."""
    from datetime import datetime

    if not text:
        return None
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    # Python 3.11 accepts at most 6 fractional digits; Go writes 9.
    if "." in t:
        head, _, rest = t.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits) :]
        t = f"{head}.{digits[:6]}{tz}"
    try:
        return datetime.fromisoformat(t).timestamp()
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """Docker's units.HumanDuration."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"


def ago(epoch: float | None) -> str:
    import time

    if epoch is None:
        return "N/A"
    return human_duration(time.time() - epoch) + " ago"


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
