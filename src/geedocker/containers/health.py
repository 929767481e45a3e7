"""Healthchecks, run by the container's monitor as dockerd runs them: the image's HEALTHCHECK or the
``--health-*`` flags, one probe every interval (as ``exec`` runs a command in the container), the last five
results kept, ``starting`` until a probe passes (failures in the start period do not count), ``unhealthy`` after
``retries`` failures in a row; a change of status is a ``health_status`` event.

    containers/<id>/health.json   docker's ``State.Health``: Status, FailingStreak, Log (replaced atomically)
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from geedocker.containers.engine import Engine
from geedocker.containers.record import ContainerRecord
from geedocker.containers.store import event
from geedocker.store.fsutil import atomic_write
from geedocker.store.layout import Layout

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
MAX_OUTPUT = 4096
KEEP = 5


def parse_duration(text: str, flag: str) -> int:
    """Go durations (``30s``, ``1m30s``, ``500ms``) -> nanoseconds."""
    import re

    from geedocker.errors import UsageError

    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise UsageError(f'invalid argument "{text}" for "{flag}" flag: time: invalid duration "{text}"')
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
    return int(sum(float(a) * scale[b] for a, b in parts))


MIN_DURATION = 1_000_000  # dockerd's containertypes.MinimumDuration (1ms), in nanoseconds
TEST_KINDS = ("NONE", "CMD", "CMD-SHELL")


def check(hc: dict[str, Any]) -> dict[str, Any]:
    """A container's Healthcheck (``--health-*`` or the API's ``Config.Healthcheck``, durations in nanoseconds),
    checked as dockerd checks it at create (its messages); the fields that ask for something. A test of another
    kind is refused here (dockerd takes it and its monitor never runs it)."""
    from geedocker.errors import UsageError

    test = hc.get("Test") or []
    if not isinstance(test, list) or not all(isinstance(t, str) for t in test):
        raise UsageError("Healthcheck.Test: a list of strings was expected")
    if test and test[0] not in TEST_KINDS:
        raise UsageError(f"unknown healthcheck type {test[0]!r} (NONE, CMD and CMD-SHELL are)")
    if test and test[0] != "NONE" and len(test) < 2:
        raise UsageError(f"Healthcheck.Test {test[0]} needs a command")
    out: dict[str, Any] = {"Test": list(test)} if test else {}
    for key in ("Interval", "Timeout", "StartPeriod", "Retries"):
        v = hc.get(key) or 0
        if isinstance(v, bool) or not isinstance(v, int):
            raise UsageError(f"Healthcheck.{key}: an integer was expected")
        if key == "Retries" and v < 0:
            raise UsageError("Retries in Healthcheck cannot be negative")
        if key != "Retries" and v != 0 and v < MIN_DURATION:
            raise UsageError(f"{key} in Healthcheck cannot be less than 1ms")
        if v:
            out[key] = v
    return out


def merge(image: dict[str, Any] | None, flags: dict[str, Any]) -> dict[str, Any] | None:
    """The container's Healthcheck: the image's with the flags over it (``--no-healthcheck``: Test ["NONE"])."""
    out = dict(image or {})
    out.update({k: v for k, v in flags.items() if v not in (None, 0, [])})
    return out or None


def config(rec: ContainerRecord) -> dict[str, Any] | None:
    hc = rec.image_config.get("Healthcheck")
    if not isinstance(hc, dict):
        return None
    test = hc.get("Test") or []
    if not test or test[0] == "NONE":
        return None
    return hc


def status(layout: Layout, rec: ContainerRecord) -> str:
    """docker's health string of a container, as ``ps --filter health=`` matches it: "none" without a healthcheck,
    else the last status the monitor recorded ("starting" before its first probe)."""
    if config(rec) is None:
        return "none"
    return str((load(layout, rec.id) or {}).get("Status", "starting"))


def argv(hc: dict[str, Any]) -> list[str]:
    test = list(hc.get("Test") or [])
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return test[1:] if test[0] == "CMD" else test


def path(layout: Layout, cid: str) -> str:
    return str(Engine.of(layout).containers.dir(cid) / "health.json")


def load(layout: Layout, cid: str) -> dict[str, Any] | None:
    try:
        with open(path(layout, cid), "rb") as f:
            d = json.loads(f.read(1 << 20))
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def _save(layout: Layout, cid: str, health: dict[str, Any]) -> None:
    from pathlib import Path

    atomic_write(Path(path(layout, cid)), json.dumps(health).encode(), durable=False)


def _stamp() -> str:
    from geedocker.timefmt import now_rfc3339

    return now_rfc3339(nanoseconds=True)


def probe(layout: Layout, cid: str, cmd: list[str], timeout: float) -> tuple[int, str]:
    """Run ``cmd`` in the container as ``exec`` does: (exit code, output); -1 when it timed out."""
    import subprocess
    import sys

    args = [sys.executable, "-m", "geedocker", "--root", str(layout.root), "--run-root", str(layout.run),
            "exec", cid, *cmd]  # fmt: skip
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return -1, f"Health check exceeded timeout ({timeout:g}s)"
    return p.returncode, (p.stdout + p.stderr)[:MAX_OUTPUT].decode("utf-8", "replace")


def monitor(layout: Layout, rec: ContainerRecord, stop: threading.Event) -> None:
    """The probe loop for one run of the container (the monitor's thread); ends when ``stop`` is set."""
    hc = config(rec)
    if hc is None:
        return
    interval = (hc.get("Interval") or 0) / 1e9 or DEFAULT_INTERVAL
    timeout = (hc.get("Timeout") or 0) / 1e9 or DEFAULT_TIMEOUT
    retries = int(hc.get("Retries") or DEFAULT_RETRIES)
    start_period = (hc.get("StartPeriod") or 0) / 1e9
    began = time.monotonic()
    health: dict[str, Any] = {"Status": "starting", "FailingStreak": 0, "Log": []}
    _save(layout, rec.id, health)
    cmd = argv(hc)
    while not stop.wait(interval):
        start = _stamp()
        code, out = probe(layout, rec.id, cmd, timeout)
        if stop.is_set():
            return
        health["Log"] = [*health["Log"], {"Start": start, "End": _stamp(), "ExitCode": code, "Output": out}][-KEEP:]
        old = health["Status"]
        if code == 0:
            health["Status"], health["FailingStreak"] = "healthy", 0
        elif time.monotonic() - began >= start_period or old != "starting":
            health["FailingStreak"] += 1
            if health["FailingStreak"] >= retries:
                health["Status"] = "unhealthy"
        _save(layout, rec.id, health)
        if health["Status"] != old:
            event(layout, rec, f"health_status: {health['Status']}")


def start_thread(layout: Layout, rec: ContainerRecord) -> threading.Event | None:
    """Start the probe loop if the container has a healthcheck: the Event that stops it."""
    if config(rec) is None:
        return None
    stop = threading.Event()
    threading.Thread(target=monitor, args=(layout, rec, stop), daemon=True).start()
    return stop
