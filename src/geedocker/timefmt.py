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
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]  # the fraction's, not the offset's too
        t = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        parsed = datetime.fromisoformat(t)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def rfc3339_epoch(text: str) -> float | None:
    """An RFC 3339 timestamp -> seconds since the epoch, or None; ``parse_rfc3339``'s answer without importing
    datetime (~2 ms of ``ps`` and ``images``, which only need the seconds)."""
    t = text.strip() if text else ""
    if len(t) < 19 or t[4] != "-" or t[7] != "-" or t[10] not in "Tt " or t[13] != ":" or t[16] != ":":
        return None
    date, clock = t[:10], t[11:19]
    if not (date[:4] + date[5:7] + date[8:10] + clock[:2] + clock[3:5] + clock[6:8]).isdigit():
        return None
    year, month, day = int(date[:4]), int(date[5:7]), int(date[8:10])
    hour, minute, second = int(clock[:2]), int(clock[3:5]), int(clock[6:8])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    rest = t[19:]
    fraction = 0.0
    if rest.startswith("."):
        digits = len(rest) - len(rest[1:].lstrip("0123456789")) - 1
        if digits == 0:
            return None
        fraction = float("0." + rest[1 : 1 + digits])
        rest = rest[1 + digits :]
    if rest in ("Z", "z", ""):
        offset = 0
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":" and (rest[1:3] + rest[4:6]).isdigit():
        offset = (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60) * (1 if rest[0] == "+" else -1)
    else:
        return None
    # days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second - offset + fraction


def utc_text(epoch: float) -> str:
    """``2024-01-01 00:00:00 +0000 UTC``, as docker's ``CreatedAt`` columns."""
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(epoch))


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


def go_duration_error(text: str) -> str:
    """Go's time.ParseDuration error for ``text`` ("" when it parses), word for word: docker shows it."""
    orig = text.replace("\\", "\\\\").replace('"', '\\"')
    invalid = f'time: invalid duration "{orig}"'
    s = text[1:] if text[:1] in ("-", "+") else text
    if s == "0":
        return ""
    if s == "":
        return invalid
    while s:
        if not (s[0] == "." or s[0].isdigit()):
            return invalid
        i = 0
        while i < len(s) and s[i].isdigit():
            i += 1
        pre, s = i > 0, s[i:]
        post = False
        if s[:1] == ".":
            s = s[1:]
            i = 0
            while i < len(s) and s[i].isdigit():
                i += 1
            post, s = i > 0, s[i:]
        if not pre and not post:
            return invalid
        i = 0
        while i < len(s) and not (s[i] == "." or s[i].isdigit()):
            i += 1
        if i == 0:
            return f'time: missing unit in duration "{orig}"'
        unit, s = s[:i], s[i:]
        if unit not in _DURATION_UNITS and unit != "\u03bcs":
            return f'time: unknown unit "{unit}" in duration "{orig}"'
    return ""


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
