"""Exit statuses: the process's own code, 128+N for signal N, 127 not found, 126 not executable."""

from __future__ import annotations

import os

import pytest

from geedocker import runtime as rt
from geedocker.errors import CommandNotExecutable, CommandNotFound
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = pytest.mark.root


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_codes_pass_through(runtime: Runtime, code: int) -> None:
    assert runtime.sh(f"exit {code}").code == code


def test_killed_by_signal_from_outside_is_128_plus_n(runtime: Runtime) -> None:
    cid = runtime.create(base_config(["sleep", "60"]))
    rt.start(runtime.root, cid)
    rt.kill(runtime.root, cid, "KILL")
    assert rt.wait(runtime.root, cid, timeout=10) == 137


def test_killed_by_own_signal_without_pid_namespace(runtime: Runtime) -> None:
    cfg = base_config(["sh", "-c", "kill -TERM $$; sleep 5"])
    cfg["linux"]["namespaces"] = [{"type": t} for t in ("ipc", "uts", "mount")]
    assert runtime.run(cfg).code == 128 + 15


def test_command_not_found_is_127(runtime: Runtime) -> None:
    with pytest.raises(CommandNotFound) as ei:
        runtime.run(base_config(["no-such-command"]))
    assert ei.value.exit_code == 127
    assert "no-such-command" in str(ei.value)
    assert rt.list_(runtime.root) == []


def test_absolute_path_not_found_is_127(runtime: Runtime) -> None:
    with pytest.raises(CommandNotFound):
        runtime.run(base_config(["/bin/nothing-here"]))


def test_not_executable_is_126(runtime: Runtime) -> None:
    bundle = runtime.bundle(base_config(["/bin/data"]))
    (bundle / "rootfs/bin/data").write_text("#!/bin/sh\necho hi\n")
    os.chmod(bundle / "rootfs/bin/data", 0o644)
    with pytest.raises(CommandNotExecutable) as ei:
        runtime.run(base_config(["/bin/data"]), bundle=bundle)
    assert ei.value.exit_code == 126


def test_directory_is_not_executable(runtime: Runtime) -> None:
    with pytest.raises(CommandNotExecutable):
        runtime.run(base_config(["/tmp"]))


def test_exec_format_error_after_start_is_126(runtime: Runtime) -> None:
    bundle = runtime.bundle(base_config(["/bin/garbage"]))
    (bundle / "rootfs/bin/garbage").write_bytes(b"\x00\x01\x02 not an executable")
    os.chmod(bundle / "rootfs/bin/garbage", 0o755)
    r = runtime.run(base_config(["/bin/garbage"]), bundle=bundle)
    assert r.code == 126
    assert "garbage" in r.err
