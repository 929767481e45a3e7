"""config.json parsing and validation (no root needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from geedocker.runtime.spec import IGNORE_SECCOMP_ENV, Spec, SpecError, load
from tests.support.bundle import base_config


def parse(cfg: dict[str, Any]) -> Spec:
    return Spec.from_json(cfg)


def test_base_config_parses() -> None:
    s = parse(base_config(["sh", "-c", "x"]))
    assert s.process is not None
    assert s.process.args == ("sh", "-c", "x")
    assert s.hostname == "geedocker-test"
    assert [n.type for n in s.linux.namespaces] == ["pid", "network", "ipc", "uts", "mount"]
    assert s.mounts[0].destination == "/proc"
    assert s.process.rlimits[0].type == "RLIMIT_NOFILE"
    assert s.process.capabilities is not None and "CAP_KILL" in s.process.capabilities.bounding


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("linux", "seccomp"), {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock"},
         "linux.seccomp.listenerPath"),
        (("linux", "seccomp"), {"defaultAction": "SCMP_ACT_BOGUS"}, "linux.seccomp.defaultAction"),
        (("process", "apparmorProfile"), "docker-default", "process.apparmorProfile"),
        (("process", "selinuxLabel"), "system_u:r:container_t", "process.selinuxLabel"),
        (("linux", "intelRdt"), {"closID": "x"}, "linux.intelRdt"),
        (("linux", "personality"), {"domain": "LINUX32"}, "linux.personality"),
        (("linux", "mountLabel"), "x", "linux.mountLabel"),
    ],
)
def test_unhonoured_fields_are_refused_by_name(path: tuple[str, str], value: Any, field: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(IGNORE_SECCOMP_ENV, raising=False)
    cfg = base_config()
    cfg[path[0]][path[1]] = value
    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        parse(cfg)


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


def test_unknown_properties_are_ignored() -> None:
    cfg = base_config()
    cfg["somethingNew"] = {"x": 1}
    cfg["process"]["futureField"] = True
    parse(cfg)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["process"].__setitem__("args", []), r"process\.args"),
        (lambda c: c["process"].__setitem__("args", "sh"), r"process\.args"),
        (lambda c: c["process"].__setitem__("cwd", "relative"), r"process\.cwd"),
        (lambda c: c["process"]["user"].__setitem__("uid", "0"), r"process\.user\.uid"),
        (lambda c: c.__setitem__("ociVersion", "2.0.0"), "ociVersion"),
        (lambda c: c["root"].__setitem__("path", ""), r"root\.path"),
        (lambda c: c["mounts"].append({"destination": "rel"}), r"mounts\[6\]\.destination"),
        (lambda c: c["process"]["rlimits"].append({"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}), "RLIMIT_BOGUS"),
        (lambda c: c["linux"]["namespaces"].remove({"type": "uts"}), "hostname"),
        (lambda c: c["linux"].__setitem__("uidMappings", [{"containerID": 0, "hostID": 1, "size": 1}]), "user"),
        (lambda c: c["linux"].__setitem__("sysctl", {"../x": "1"}), "sysctl"),
        (lambda c: c.__setitem__("hooks", {"poststart": [{"path": "rel"}]}), r"hooks\.poststart\[0\]\.path"),
        (lambda c: c["linux"].__setitem__("resources", {"blockIO": {"weight": 10}}), "blockIO"),
    ],
)
def test_invalid_configs(mutate: Any, message: str) -> None:
    cfg = base_config()
    mutate(cfg)
    with pytest.raises(SpecError, match=message):
        parse(cfg)


def test_resources_and_devices() -> None:
    cfg = base_config()
    cfg["linux"]["resources"] = {"memory": {"limit": 100, "swap": 200}, "cpu": {"shares": 10, "cpus": "0"},
                                 "pids": {"limit": 5},
                                 "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c",
                                                                                  "major": 1, "minor": 3}]}
    cfg["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
    r = parse(cfg).linux.resources
    assert (r.memory_limit, r.memory_swap, r.cpu_shares, r.cpu_cpus, r.pids_limit) == (100, 200, 10, "0", 5)
    assert [d.allow for d in r.devices] == [False, True]
    assert parse(cfg).linux.devices[0].major == 10


def test_prestart_hooks_run_with_create_runtime() -> None:
    cfg = base_config()
    cfg["hooks"] = {"prestart": [{"path": "/bin/a"}], "createRuntime": [{"path": "/bin/b", "timeout": 3}]}
    h = parse(cfg).hooks
    assert [x.path for x in h.create_runtime] == ["/bin/a", "/bin/b"]
    assert h.create_runtime[1].timeout == 3


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load(tmp_path)
    (tmp_path / "config.json").write_text("{nope")
    with pytest.raises(SpecError, match="not valid JSON"):
        load(tmp_path)
    cfg = base_config()
    del cfg["process"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(SpecError, match="process"):
        load(tmp_path)


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


def test_kernel_memory_limits_are_accepted_and_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    cfg = base_config()
    cfg["linux"]["resources"] = {"memory": {"limit": 100, "kernel": 50, "kernelTCP": 10, "swappiness": -1}}
    with caplog.at_level("WARNING"):
        r = parse(cfg).linux.resources
    assert (r.memory_limit, r.memory_swappiness, r.disable_oom_killer) == (100, None, False)
    assert "linux.resources.memory.kernel is ignored" in caplog.text
    assert "linux.resources.memory.kernelTCP is ignored" in caplog.text


def test_swappiness_out_of_range_names_the_field() -> None:
    cfg = base_config()
    cfg["linux"]["resources"] = {"memory": {"swappiness": 101}}
    with pytest.raises(SpecError, match=r"linux\.resources\.memory\.swappiness: 101 is out of range \(0-100\)"):
        parse(cfg)
