from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geedocker import timefmt
from geedocker.timefmt import human_duration, now_rfc3339, parse_rfc3339, rfc3339_epoch, utc_text


def test_parse_go_nanoseconds_and_zones() -> None:
    t = parse_rfc3339("2024-01-02T03:04:05.123456789Z")
    assert t is not None and t.microsecond == 123456 and t.utcoffset() is not None
    t2 = parse_rfc3339("2024-01-02T05:04:05+02:00")
    assert t2 is not None and t2.timestamp() == parse_rfc3339("2024-01-02T03:04:05Z").timestamp()  # type: ignore[union-attr]
    assert parse_rfc3339("") is None and parse_rfc3339("yesterday") is None


def test_human_duration_units() -> None:
    assert human_duration(90) == "About a minute"
    assert human_duration(3 * 3600) == "3 hours"
    assert human_duration(86400 * 20) == "2 weeks"
    assert human_duration(86400 * 400) == "13 months"
    assert human_duration(86400 * 800) == "2 years"


def test_now_rfc3339_is_utc_with_microseconds_and_parses_back() -> None:
    import re
    import time

    before = time.time()
    text = now_rfc3339()
    after = time.time()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", text), text
    parsed = parse_rfc3339(text)
    assert parsed is not None
    assert before - 1e-6 <= parsed.timestamp() <= after + 1e-6


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])),
    st.sampled_from(["", ".5", ".123456", ".123456789"]))
def test_epoch_parser_agrees_with_datetime(when: datetime, fraction: str) -> None:
    text = when.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    text = text[:19] + fraction + text[19:]
    expected = parse_rfc3339(text)
    assert expected is not None
    got = rfc3339_epoch(text)
    assert got is not None and abs(got - expected.timestamp()) < 1e-4  # datetime keeps microseconds; floats


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01T00:00:00Z", "2024-01-01T00:00:00+0100",
                                  "2024-01-01T00:00:00.Z", "2024-01-01 00:00"])
def test_epoch_parser_refuses_what_is_not_rfc3339(text: str) -> None:
    assert rfc3339_epoch(text) is None


def test_utc_text() -> None:
    assert utc_text(0) == "1970-01-01 00:00:00 +0000 UTC"


@pytest.mark.parametrize(("text", "error"), [
    ("1h", ""), ("1.5h30m", ""), ("0", ""), ("-2m", ""), (".5s", ""),
    ("2000-01-01T00:00:00Z", 'time: unknown unit "-" in duration "2000-01-01T00:00:00Z"'),
    ("946684800", 'time: missing unit in duration "946684800"'),
    ("soon", 'time: invalid duration "soon"'), ("", 'time: invalid duration ""'), (".h", 'time: invalid duration ".h"'),
    ("1x", 'time: unknown unit "x" in duration "1x"'),
])  # fmt: skip
def test_go_duration_error_is_gos_text(text: str, error: str) -> None:
    """As Go's time.ParseDuration words them (docker shows them, e.g. for a build cache prune's until=)."""
    assert timefmt.go_duration_error(text) == error
