"""Healthchecks run by the monitor: starting, unhealthy after the retries, healthy again; inspect, ps, events."""

from __future__ import annotations

import json

import pytest

from geedocker.containers.health import argv, merge, parse_duration
from geedocker.errors import UsageError
from tests.containers.conftest import Engine


def test_config_rules() -> None:
    assert parse_duration("1m30s", "--health-interval") == 90 * 10**9 and parse_duration("250ms", "x") == 25 * 10**7
    with pytest.raises(UsageError, match="invalid duration"):
        parse_duration("soon", "--health-interval")
    image = {"Test": ["CMD", "true"], "Interval": 5 * 10**9, "Retries": 4}
    assert merge(image, {"Test": ["CMD-SHELL", "exit 1"]}) == {"Test": ["CMD-SHELL", "exit 1"], "Interval": 5 * 10**9,
                                                               "Retries": 4}  # fmt: skip
    assert argv({"Test": ["CMD-SHELL", "a && b"]}) == ["/bin/sh", "-c", "a && b"] and argv({"Test": ["CMD", "x"]}) == [
        "x"
    ]


def health(engine: Engine, name: str) -> dict[str, object]:
    return json.loads(engine.cli("container", "inspect", name).stdout)[0]["State"]["Health"]  # type: ignore[no-any-return]


@pytest.mark.root
def test_failing_then_passing_healthcheck(engine: Engine) -> None:
    flags = ("-d", "--network", "none", "--name", "hc", "--health-cmd", "test -f /tmp/ok", "--health-interval",
             "200ms", "--health-retries", "2")  # fmt: skip
    assert engine.run("sh", "-c", "sleep 60", flags=flags).returncode == 0
    engine.wait_for("unhealthy", lambda: health(engine, "hc")["Status"] == "unhealthy", timeout=20)
    h = health(engine, "hc")
    assert int(h["FailingStreak"]) >= 2 and all(e["ExitCode"] == 1 for e in h["Log"])  # type: ignore[attr-defined, call-overload]
    assert "(unhealthy)" in engine.cli("ps").stdout
    assert engine.cli("exec", "hc", "touch", "/tmp/ok").returncode == 0
    engine.wait_for("healthy", lambda: health(engine, "hc")["Status"] == "healthy", timeout=20)
    h = health(engine, "hc")
    assert h["FailingStreak"] == 0 and len(h["Log"]) <= 5  # type: ignore[arg-type]
    assert engine.cli("ps", "--format", "{{.Status}}").stdout.strip().endswith("(healthy)")
    assert engine.cli("ps", "--filter", "health=healthy", "--format", "{{.Names}}").stdout == "hc\n"
    assert engine.cli("ps", "--filter", "health=none", "-q").stdout == ""
    evs = engine.cli("events", "--since", "1m", "--until", "0s", "--filter", "event=health_status",
                     "--format", "{{.Action}}").stdout.split("\n")  # fmt: skip
    assert evs[:2] == ["health_status: unhealthy", "health_status: healthy"]
    assert engine.run("true", flags=("--no-healthcheck", "--health-cmd", "x")).returncode == 125
