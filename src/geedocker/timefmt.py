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


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float | None:
    """Go's time.ParseDuration ("10m", "1h30m", "1.5s") -> seconds, or None when it is not one."""
    import re

    if not text or not re.fullmatch(r"[-+]?(?:[0-9]*\.?[0-9]+(?:ns|us|µs|ms|s|m|h))+", text):
        return None
    sign = -1.0 if text.startswith("-") else 1.0
    return sign * sum(float(n) * _DURATION_UNITS[u] for n, u in re.findall(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)",
                                                                            text))


def parse_timestamp(text: str, now: float | None = None) -> float:
    """docker's --since/--until/until= values (its GetTimestamp): a duration before now ("10m"), Unix time
    ("1700000000" or with a fraction), or an RFC 3339 date or date-time (UTC unless it has an offset).
    A bad value raises ValueError."""
    import re
    from datetime import UTC, datetime

    now = time.time() if now is None else now
    d = parse_go_duration(text)
    if d is not None:
        return now - d
    if re.fullmatch(r"[0-9]+(?:\.[0-9]{1,9})?", text):
        return float(text)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()
    parsed = parse_rfc3339(text)
    if parsed is None or not re.match(r"\d{4}-\d{2}-\d{2}T", text):
        raise ValueError(f"failed to parse value as time or duration: \"{text}\"")
    return parsed.timestamp()
