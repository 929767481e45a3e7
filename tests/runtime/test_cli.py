"""``geedocker-runtime``: runc's command line, driven as podman/containerd would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geedocker.runtime.cli import main
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

SRC = str(Path(__file__).resolve().parents[2] / "src")


def cli(runtime: Runtime, *args: str, cwd: Path | None = None, out: Path | None = None) -> \
        subprocess.CompletedProcess[str]:
    """Run the CLI with stdout/stderr in files: a created container inherits them (as with runc), so pipes
    would stay open as long as it lives."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "geedocker.runtime.cli", "--root", str(runtime.root), *args]
    runtime.n += 1
    out = out or runtime.base / f"cli{runtime.n}.out"
    err = runtime.base / f"cli{runtime.n}.err"
    with open(out, "w") as fo, open(err, "w") as fe:
        r = subprocess.run(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, env=env, cwd=cwd, timeout=60)
    return subprocess.CompletedProcess(cmd, r.returncode, out.read_text(), err.read_text())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "geedocker-runtime version" in capsys.readouterr().out


def test_systemd_cgroup_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--systemd-cgroup", "list"]) == 1
    assert "not supported" in capsys.readouterr().err


def test_errors_go_to_the_json_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "log.json"
    assert main(["--root", str(tmp_path), "--log", str(log), "--log-format", "json", "state", "nope"]) == 1
    entry = json.loads(log.read_text().splitlines()[0])
    assert entry["level"] == "error" and "nope" in entry["msg"]
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.root
def test_create_start_state_kill_delete(runtime: Runtime, tmp_path: Path) -> None:
    bundle = runtime.bundle(base_config(["sh", "-c", "echo hello; exec sleep 60"]))
    pidfile = tmp_path / "pid"
    out = tmp_path / "out"
    r = cli(runtime, "create", "--bundle", str(bundle), "--pid-file", str(pidfile), "c1", out=out)
    assert r.returncode == 0, r.stderr
    st = json.loads(cli(runtime, "state", "c1").stdout)
    assert st["status"] == "created" and st["pid"] == int(pidfile.read_text()) and st["id"] == "c1"
    assert cli(runtime, "start", "c1").returncode == 0
    assert json.loads(cli(runtime, "state", "c1").stdout)["status"] == "running"
    lst = json.loads(cli(runtime, "list", "--format", "json").stdout)
    assert [c["id"] for c in lst] == ["c1"]
    assert cli(runtime, "ps", "--format", "json", "c1").returncode == 0
    r = cli(runtime, "start", "c1")
    assert r.returncode == 1 and "running" in r.stderr
    assert cli(runtime, "kill", "c1", "KILL").returncode == 0
    deadline = time.monotonic() + 10
    while json.loads(cli(runtime, "state", "c1").stdout)["status"] != "stopped":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert cli(runtime, "delete", "c1").returncode == 0
    assert cli(runtime, "state", "c1").returncode == 1
    assert out.read_text() == "hello\n"


@pytest.mark.root
def test_run_exit_code_and_exec(runtime: Runtime, tmp_path: Path) -> None:
    bundle = runtime.bundle(base_config(["sh", "-c", "exit 7"]))
    assert cli(runtime, "run", "--bundle", str(bundle), "r1").returncode == 7
    bundle2 = runtime.bundle(base_config(["sleep", "60"]))
    assert cli(runtime, "run", "-d", "--bundle", str(bundle2), "r2").returncode == 0
    out = tmp_path / "exec.out"
    r = cli(runtime, "exec", "r2", "sh", "-c", "echo $((6*7)); exit 4", out=out)
    assert r.returncode == 4, r.stderr
    assert out.read_text() == "42\n"
    pj = tmp_path / "p.json"
    pj.write_text(json.dumps({"args": ["hostname"], "cwd": "/"}))
    r = cli(runtime, "exec", "--process", str(pj), "r2", out=out)
    assert r.returncode == 0 and out.read_text() == "geedocker-test\n"
    assert cli(runtime, "update", "--pids-limit", "12", "r2").returncode == 0
    saved = json.loads((runtime.root / "r2" / "state.json").read_text())
    if saved["cgroup"]["version"] == 1:
        assert Path(saved["cgroup"]["dirs"]["pids"], "pids.max").read_text().strip() == "12"
    assert cli(runtime, "delete", "--force", "r2").returncode == 0


@pytest.mark.root
def test_run_from_bundle_cwd_not_found(runtime: Runtime) -> None:
    bundle = runtime.bundle(base_config(["missing-cmd"]))
    r = cli(runtime, "run", "x", cwd=bundle)
    assert r.returncode == 1
    assert "executable file not found" in r.stderr


@pytest.mark.root
def test_run_forwards_signals_to_the_container(runtime: Runtime) -> None:
    bundle = runtime.bundle(base_config(["sh", "-c", "trap 'echo got-term; exit 9' TERM; echo ready; "
                                         "while true; do sleep 0.05; done"]))
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = runtime.base / "fwd.out"
    with open(out, "w") as f:
        proc = subprocess.Popen([sys.executable, "-m", "geedocker.runtime.cli", "--root", str(runtime.root), "run",
                                 "--bundle", str(bundle), "fwd"], stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 30
        while "ready" not in out.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, out.read_text()
            time.sleep(0.02)
        # runc's model: no monitor process; the foreground runtime is the init's parent and reaps it
        saved = json.loads((runtime.root / "fwd" / "state.json").read_text())
        assert saved["monitorPid"] == 0
        stat = Path(f"/proc/{saved['pid']}/stat").read_text()
        assert int(stat.rsplit(")", 1)[1].split()[1]) == proc.pid
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 9
        assert "got-term" in out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_delete_force_of_a_missing_container_succeeds(tmp_path: Path) -> None:
    assert main(["--root", str(tmp_path), "delete", "--force", "gone"]) == 0
    assert main(["--root", str(tmp_path), "delete", "gone"]) == 1
