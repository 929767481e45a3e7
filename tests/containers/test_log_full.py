"""A container whose log's disk is full (root: a tiny tmpfs of the test's, bind-mounted on the log file) goes on
as docker's does: entries are dropped, the error is reported, ``ps``, ``wait`` and the exit code stay true."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.containers.store import ContainerStore
from tests.containers.conftest import Engine

pytestmark = pytest.mark.root

CHATTY = "i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; exit 3"


@pytest.fixture
def full_log(engine: Engine, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A created container whose log file lives on a 64 KiB tmpfs (unmounted after the test)."""
    cid = engine.cli("create", "--name", "chatty", "--rootfs", str(engine.layer), "sh", "-c", CHATTY).stdout.strip()
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    log = ContainerStore(engine.layout).log_path(cid)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(tiny)], check=True)
    try:
        (tiny / "log").touch()
        log.touch()
        subprocess.run(["mount", "--bind", str(tiny / "log"), str(log)], check=True)
        try:
            yield cid, log
        finally:
            subprocess.run(["umount", str(log)], check=False)
    finally:
        subprocess.run(["umount", str(tiny)], check=False)


@pytest.mark.parametrize("attached", [False, True])
def test_a_full_log_never_kills_the_container(engine: Engine, full_log: tuple[str, Path], attached: bool) -> None:
    cid, log = full_log
    if attached:
        start = engine.cli("start", "-a", "chatty")
        assert start.returncode == 3 and "Traceback" not in start.stderr, start.stderr
        assert "line 2999\n" in start.stdout  # the terminal gets everything
        warned = [ln for ln in start.stderr.splitlines() if "cannot be written" in ln]
        assert len(warned) == 1 and "no space left on device" in warned[0], start.stderr
    else:
        assert engine.cli("start", "chatty").returncode == 0
    assert engine.cli("wait", "chatty", timeout=60).stdout == "3\n"  # the real exit code
    ps = engine.cli("ps", "-a", "--format", "{{.Status}}").stdout
    assert ps.startswith("Exited (3) ")
    state = json.loads(engine.cli("inspect", "chatty").stdout)[0]["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 3)
    assert state["Error"].startswith("log: ") and "entries dropped" in state["Error"]
    assert "no space left on device" in state["Error"]
    shown = engine.cli("logs", "chatty").stdout.splitlines()
    assert shown[:2] == ["line 0", "line 1"] and 0 < len(shown) < 3000  # what fitted, whole lines only
    assert all(ln.startswith("line ") for ln in shown)


def test_log_opts_rotate_the_log_of_a_real_container(engine: Engine) -> None:
    r = engine.run("sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done",
                   flags=("--name", "rot", "--log-opt", "max-size=1k", "--log-opt", "max-file=3"))  # fmt: skip
    assert r.returncode == 0 and r.stdout.count("\n") == 200, r.stderr
    cid = json.loads(engine.cli("inspect", "rot").stdout)[0]["Id"]
    log = ContainerStore(engine.layout).log_path(cid)
    assert sorted(p.name for p in log.parent.iterdir() if p.name.startswith(log.name)) == [
        log.name, log.name + ".1", log.name + ".2"]
    shown = engine.cli("logs", "rot").stdout.splitlines()
    assert shown[-1] == "line 199" and 10 < len(shown) < 200
    assert shown == [f"line {i}" for i in range(200 - len(shown), 200)]


def test_log_opt_compress_gzips_the_rotated_logs_of_a_real_container(engine: Engine) -> None:
    r = engine.run("sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done",
                   flags=("--name", "rotz", "--log-opt", "max-size=1k", "--log-opt", "max-file=3",
                          "--log-opt", "compress=true"))  # fmt: skip
    assert r.returncode == 0 and r.stdout.count("\n") == 200, r.stderr
    cid = json.loads(engine.cli("inspect", "rotz").stdout)[0]["Id"]
    log = ContainerStore(engine.layout).log_path(cid)
    assert sorted(p.name for p in log.parent.iterdir() if p.name.startswith(log.name)) == [
        log.name, log.name + ".1.gz", log.name + ".2.gz"]  # compressed before the monitor ended
    shown = engine.cli("logs", "rotz").stdout.splitlines()
    assert shown[-1] == "line 199" and 20 < len(shown) < 200
    assert shown == [f"line {i}" for i in range(200 - len(shown), 200)]
    assert engine.cli("logs", "--tail", "2", "rotz").stdout == "line 198\nline 199\n"
