"""docker's --since/--until/until= values: durations, Unix time, RFC 3339 (timefmt.parse_timestamp)."""

from __future__ import annotations

import pytest

from geedocker.timefmt import parse_go_duration, parse_timestamp

NOW = 1_700_000_000.0


def test_durations_are_before_now() -> None:
    assert parse_go_duration("1h30m") == 5400 and parse_go_duration("1.5s") == 1.5 and parse_go_duration("x") is None
    assert parse_timestamp("10m", NOW) == NOW - 600
    assert parse_timestamp("250ms", NOW) == NOW - 0.25


def test_unix_and_rfc3339() -> None:
    assert parse_timestamp("1600000000", NOW) == 1_600_000_000
    assert parse_timestamp("1600000000.5", NOW) == 1_600_000_000.5
    assert parse_timestamp("2023-11-14T22:13:20Z", NOW) == NOW
    assert parse_timestamp("2023-11-14T23:13:20+01:00", NOW) == NOW
    assert parse_timestamp("2023-11-14", NOW) == NOW - (22 * 3600 + 13 * 60 + 20)


@pytest.mark.parametrize("bad", ["", "yesterday", "10 minutes", "2023-13-40T00:00:00Z"])
def test_bad_values(bad: str) -> None:
    with pytest.raises(ValueError, match="failed to parse value as time or duration"):
        parse_timestamp(bad, NOW)
