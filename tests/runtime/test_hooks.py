"""Lifecycle hooks: when they run, in which namespace, with the state on stdin; failures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from geedocker import runtime as rt
from geedocker.runtime.hooks import HookError
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = pytest.mark.root


def hook_script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)
    return str(path)


def test_hooks_run_in_order_with_state(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "log"
    rec = hook_script(tmp_path / "rec.sh", f'echo "$1 $(cat)" >> {log}')
    uts = hook_script(tmp_path / "uts.sh", f'echo "createContainer-uts $(readlink /proc/self/ns/uts)" >> {log}')
    cfg = base_config(["sh", "-c", "cat /tmp/start-hook"])
    cfg["hooks"] = {
        "createRuntime": [{"path": rec, "args": ["rec.sh", "createRuntime"]}],
        "createContainer": [{"path": rec, "args": ["rec.sh", "createContainer"]}, {"path": uts}],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /tmp/start-hook"]}],
        "poststart": [{"path": rec, "args": ["rec.sh", "poststart"]}],
        "poststop": [{"path": rec, "args": ["rec.sh", "poststop"]}],
    }
    cid = runtime.create(cfg)
    pid = rt.state(runtime.root, cid).pid
    rt.start(runtime.root, cid)
    assert rt.wait(runtime.root, cid, timeout=10) == 0
    rt.delete(runtime.root, cid)
    lines = log.read_text().splitlines()
    phases = [line.split(" ", 1)[0] for line in lines]
    assert phases == ["createRuntime", "createContainer", "createContainer-uts", "poststart", "poststop"]
    states = {p: json.loads(line.split(" ", 1)[1])
              for p, line in zip(phases, lines, strict=True) if p != "createContainer-uts"}
    assert states["createRuntime"]["status"] == "creating"
    assert states["createRuntime"]["pid"] == pid
    assert states["createRuntime"]["id"] == cid
    assert states["poststart"]["status"] == "running"
    assert states["poststop"]["status"] == "stopped"
    assert lines[2].split()[1] != os.readlink("/proc/self/ns/uts")  # createContainer ran in the container's
    start_state = json.loads(runtime.output(cid)[0])
    assert start_state["id"] == cid


def test_create_hooks_see_the_init_in_its_cgroups(runtime: Runtime, tmp_path: Path) -> None:
    """The init is moved into its cgroups while it mounts; createRuntime and createContainer hooks run after."""
    log = tmp_path / "log"
    rec = hook_script(tmp_path / "rec.sh",
                      f'pid=$(sed -n \'s/.*"pid": *\\([0-9]*\\).*/\\1/p\'); '
                      f'echo "$1 $(grep -E \':(pids|memory):\' /proc/$pid/cgroup | tr \'\\n\' \' \')" >> {log}')
    cfg = base_config(["true"])
    cfg["hooks"] = {"createRuntime": [{"path": rec, "args": ["rec.sh", "createRuntime"]}],
                    "createContainer": [{"path": rec, "args": ["rec.sh", "createContainer"]}]}
    cid = runtime.create(cfg)
    rt.delete(runtime.root, cid, force=True)
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["createRuntime", "createContainer"], lines
    for line in lines:
        assert line.count(cid) >= 1, line  # the default cgroup path ends with the container's id


def test_failing_create_runtime_hook_fails_create(runtime: Runtime, tmp_path: Path) -> None:
    bad = hook_script(tmp_path / "bad.sh", "echo broken >&2; exit 3")
    cfg = base_config(["true"])
    cfg["hooks"] = {"createRuntime": [{"path": bad}]}
    with pytest.raises(HookError, match="status 3: broken"):
        runtime.create(cfg)
    assert rt.list_(runtime.root) == []


def test_failing_create_container_hook_fails_create(runtime: Runtime, tmp_path: Path) -> None:
    bad = hook_script(tmp_path / "bad.sh", "exit 1")
    cfg = base_config(["true"])
    cfg["hooks"] = {"createContainer": [{"path": bad}]}
    with pytest.raises(Exception, match="createContainer hook"):
        runtime.create(cfg)
    assert rt.list_(runtime.root) == []


def test_hook_timeout(runtime: Runtime, tmp_path: Path) -> None:
    slow = hook_script(tmp_path / "slow.sh", "sleep 10")
    cfg = base_config(["true"])
    cfg["hooks"] = {"createRuntime": [{"path": slow, "timeout": 1}]}
    with pytest.raises(HookError, match="timed out"):
        runtime.create(cfg)


def test_failing_poststop_hook_does_not_block_delete(runtime: Runtime, tmp_path: Path) -> None:
    bad = hook_script(tmp_path / "bad.sh", "exit 1")
    cfg = base_config(["true"])
    cfg["hooks"] = {"poststop": [{"path": bad}]}
    assert runtime.run(cfg).code == 0
    assert rt.list_(runtime.root) == []
