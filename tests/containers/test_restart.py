"""Restart policies done by the monitor: on-failure:N, always with back-off, stop/kill leave it down, system boot."""

from __future__ import annotations

import json

import pytest

from geedocker.containers import restart
from geedocker.errors import UsageError
from tests.containers.conftest import Engine

NONE = ("--network", "none")


def test_policy_rules() -> None:
    assert restart.parse("no") == "" and restart.parse("on-failure:3") == "on-failure:3"
    with pytest.raises(UsageError, match="maximum retry count cannot be used"):
        restart.parse("always:2")
    with pytest.raises(UsageError, match="invalid restart policy"):
        restart.parse("sometimes")
    assert restart.should_restart("on-failure:2", 1, 1, False) and not restart.should_restart(
        "on-failure:2", 1, 2, False
    )
    assert not restart.should_restart("on-failure", 0, 0, False) and restart.should_restart("always", 0, 9, False)
    assert not restart.should_restart("always", 1, 0, True)
    delays = [restart.FIRST_DELAY]
    for _ in range(12):
        delays.append(restart.next_delay(delays[-1], 0.5))
    assert delays[1] == 0.2 and delays[-1] == restart.MAX_DELAY
    assert restart.next_delay(30.0, restart.RESET_AFTER) == restart.FIRST_DELAY  # ran long enough: reset
    assert restart.starts_at_boot("always", True) and not restart.starts_at_boot("unless-stopped", True)


def state(engine: Engine, name: str) -> dict[str, object]:
    return json.loads(engine.cli("container", "inspect", name).stdout)[0]  # type: ignore[no-any-return]


@pytest.mark.root
def test_on_failure_and_always(engine: Engine) -> None:
    r = engine.run("sh", "-c", "exit 3", flags=("-d", *NONE, "--name", "flaky", "--restart", "on-failure:2"))
    assert r.returncode == 0, r.stderr
    engine.wait_for(
        "two restarts",
        lambda: (
            state(engine, "flaky")["RestartCount"] == 2
            and not state(engine, "flaky")["State"]["Restarting"]  # type: ignore[index]
            and state(engine, "flaky")["State"]["Status"] == "exited"
        ),
        timeout=20,
    )  # type: ignore[index]
    d = state(engine, "flaky")
    assert d["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}  # type: ignore[index]
    assert d["State"]["ExitCode"] == 3  # type: ignore[index]
    r = engine.run("sh", "-c", "sleep 0.2; exit 1", flags=("-d", *NONE, "--name", "loop", "--restart", "always"))
    assert r.returncode == 0
    engine.wait_for("restarts", lambda: int(state(engine, "loop")["RestartCount"]) >= 2, timeout=20)  # type: ignore[call-overload]
    assert engine.cli("stop", "-t", "1", "loop").returncode == 0
    engine.wait_for("it stays down", lambda: state(engine, "loop")["State"]["Status"] == "exited", timeout=10)  # type: ignore[index]
    count = state(engine, "loop")["RestartCount"]
    import time

    time.sleep(1.5)
    assert state(engine, "loop")["RestartCount"] == count and state(engine, "loop")["State"]["Status"] == "exited"  # type: ignore[index]
    # system boot: always starts again even after a stop (as dockerd at start); unless-stopped does not
    assert engine.cli("update", "--restart", "unless-stopped", "flaky").returncode == 0
    boot = engine.cli("system", "boot")
    assert "loop" in boot.stdout.split() and "flaky" in boot.stdout.split()  # flaky was never stopped by hand
    assert engine.cli("rm", "-f", "loop", "flaky").returncode == 0
    r = engine.run("true", flags=("--rm", "--restart", "always"))
    assert r.returncode == 125 and "Conflicting options: --restart and --rm" in r.stderr
