from geedocker.timefmt import human_duration, now_rfc3339, parse_rfc3339


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
