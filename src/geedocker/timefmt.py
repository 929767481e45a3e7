"""Times as docker shows them: RFC 3339 parsing (Go's nine fractional digits too) and human durations."""

from __future__ import annotations

import time

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from datetime import datetime


def now_rfc3339(*, nanoseconds: bool = False) -> str:
    """Now, in UTC, with microseconds (``2026-11-29T09:32:17.123456Z``) or nanoseconds (Go's RFC3339Nano,
    as docker's json-file log). No datetime import: start-up cost."""
    ns = time.time_ns()
    fraction = f"{ns % 1_000_000_000:09d}" if nanoseconds else f"{ns // 1000 % 1_000_000:06d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{fraction}Z"


def parse_rfc3339(text: str) -> datetime | None:
    """An RFC 3339 timestamp (image configs, container records) -> an aware datetime, or None."""
    from datetime import UTC, datetime

    if not text:
        return None
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    if "." in t:  # Python 3.11 takes at most 6 fractional digits; Go writes 9
        head, _, rest = t.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        t = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        parsed = datetime.fromisoformat(t)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
