"""The spec's ``linux`` section (``runtime.spec_linux``): seccomp, namespaces, sysctls; read through
``Spec.from_json`` as config.json is (no root needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from geedocker.runtime.spec import Spec
from geedocker.runtime.spec_json import SpecError
from geedocker.runtime.spec_linux import IGNORE_SECCOMP_ENV
from tests.support.bundle import base_config


def parse(cfg: dict[str, Any]) -> Spec:
    return Spec.from_json(cfg)


def test_seccomp_can_be_ignored_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = base_config()
    cfg["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO"}
    monkeypatch.setenv(IGNORE_SECCOMP_ENV, "1")
    assert parse(cfg).linux.seccomp is None
    monkeypatch.delenv(IGNORE_SECCOMP_ENV)
    assert parse(cfg).linux.seccomp is not None


@pytest.mark.skipif(not Path("/usr/share/containers/seccomp.json").exists(), reason="no podman seccomp.json")
def test_podman_default_seccomp_profile_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(IGNORE_SECCOMP_ENV, raising=False)
    cfg = base_config()
    cfg["linux"]["seccomp"] = json.loads(Path("/usr/share/containers/seccomp.json").read_text())
    sc = parse(cfg).linux.seccomp
    assert sc is not None and sc.default_action == "SCMP_ACT_ERRNO"
    assert any("personality" in r.names and r.args for r in sc.rules)


def test_unknown_namespace_refused() -> None:
    cfg = base_config()
    cfg["linux"]["namespaces"].append({"type": "bogus"})
    with pytest.raises(SpecError, match=r"linux\.namespaces\[5\]\.type.*bogus"):
        parse(cfg)


@pytest.mark.parametrize(
    ("sysctl", "drop", "path", "message"),
    [
        ("kernel.core_pattern", None, None, "not in a separate kernel namespace"),
        ("vm.overcommit_memory", None, None, "not in a separate kernel namespace"),
        ("kernel.shmmax", "ipc", None, "host's IPC namespace"),
        ("fs.mqueue.msg_max", "ipc", None, "host's IPC namespace"),
        ("net.ipv4.ip_forward", "network", None, "host's network namespace"),
        ("net.ipv4.ip_forward", None, "/proc/self/ns/net", "/proc/self/ns/net is the host's"),
        ("kernel.domainname", "uts", None, "host's UTS namespace"),
    ],
)
def test_sysctls_outside_the_containers_namespaces_are_refused(sysctl: str, drop: str | None, path: str | None,
                                                                message: str) -> None:
    """runc's rule: IPC sysctls need a private IPC namespace, net.* a network namespace that is not the host's,
    kernel.domainname/hostname a UTS namespace; any other sysctl would change the host."""
    cfg = base_config()
    cfg["linux"]["sysctl"] = {sysctl: "1"}
    cfg["hostname"] = ""
    if drop:
        cfg["linux"]["namespaces"].remove({"type": drop})
    if path:
        for n in cfg["linux"]["namespaces"]:
            if n["type"] == "network":
                n["path"] = path
    with pytest.raises(SpecError) as e:
        parse(cfg)
    assert f"linux.sysctl.{sysctl}" in str(e.value) and message in str(e.value)


def test_namespaced_sysctls_are_accepted() -> None:
    cfg = base_config()
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234", "kernel.msgmax": "10",
                              "fs.mqueue.queues_max": "5", "kernel.domainname": "example", "kernel.hostname": "h"}
    assert dict(parse(cfg).linux.sysctl)["kernel.shmmni"] == "1234"
