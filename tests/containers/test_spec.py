"""build_spec: the engine's plan, what it resolved in the rootfs and the network's attachment in, config.json out
(pure: no root needed)."""

from __future__ import annotations

from typing import Any

from geedocker.containers import spec
from geedocker.containers.options import MountSpec, RunOptions
from geedocker.containers.plan import INIT_DESTINATION, ContainerPlan, Resolved, make_plan
from geedocker.containers.spec import build_spec
from geedocker.containers.users import ProcessUser
from geedocker.network.options import Attachment
from geedocker.oci import ContainerConfig
from geedocker.runtime.capabilities import NAMES as ALL_CAPABILITIES

CID = "a" * 12 + "b" * 52
ROOT = ProcessUser(0, 0, (0,), "/root", "root")
PLAN = ContainerPlan(
    id=CID, command=("sh", "-c", "true"), env=("PATH=/bin", "A=1"), workdir="/srv", hostname="box", user="",
    stop_signal=3, stop_timeout=10, capabilities=("CAP_KILL", "CAP_CHOWN"), cgroups_path="/x/y",
)  # fmt: skip


def make(cfg: ContainerConfig | None = None, *, user: ProcessUser = ROOT, attachment: Attachment | None = None,
         init_path: str | None = None, **kw: Any) -> dict[str, Any]:  # fmt: skip
    p = make_plan(CID, cfg or ContainerConfig(cmd=("sh",)), RunOptions(**kw), nodename="thehost",
                  known_capabilities=ALL_CAPABILITIES, init_path=init_path)  # fmt: skip
    return build_spec(p, Resolved("/b/rootfs", user, p.options.mounts), attachment or Attachment())


def test_the_process_is_the_plans() -> None:
    s = build_spec(PLAN, Resolved("/b/rootfs", ROOT), Attachment())
    p = s["process"]
    assert p["args"] == ["sh", "-c", "true"] and p["cwd"] == "/srv" and p["terminal"] is False
    assert p["env"] == ["PATH=/bin", "A=1", "HOME=/root"]  # HOME from the user, as the env has none
    assert p["capabilities"] == {k: ["CAP_KILL", "CAP_CHOWN"] for k in ("bounding", "effective", "permitted")}
    assert s["hostname"] == "box" and s["linux"]["cgroupsPath"] == "/x/y"
    assert s["root"] == {"path": "/b/rootfs", "readonly": False}
    assert s["annotations"] == {"org.geedocker.container.id": CID, "org.geedocker.stop-signal": "3"}
    assert s["ociVersion"] == spec.OCI_VERSION


def test_the_same_inputs_make_the_same_spec() -> None:
    """Pure: equal inputs made apart give the same config.json, byte for byte (key order too), whatever the
    environment; and no spec shares a mutable part with another (config.json is edited after, by hooks and
    the runtime's defaults), so changing one leaves the next as it was."""
    import copy
    import json
    import os

    def one(env: dict[str, str]) -> dict[str, Any]:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            plan = make_plan(CID, ContainerConfig(cmd=("sh",), env=("A=1",)),
                             RunOptions(mounts=(MountSpec("bind", "/data", "/srv/data"), MountSpec("tmpfs", "/t"))),
                             nodename="thehost", known_capabilities=ALL_CAPABILITIES)  # fmt: skip
            return build_spec(copy.deepcopy(plan), Resolved("/b/rootfs", ROOT, plan.options.mounts),
                              Attachment((), "/run/x/netns/c"))  # fmt: skip
        finally:
            os.environ.clear()
            os.environ.update(saved)

    first = one({"PATH": "/usr/bin", "HOME": "/root"})
    text = json.dumps(first)
    for key in ("mounts", "linux", "process"):  # change every nested part of the first
        part = first[key]
        for v in (part if isinstance(part, list) else part.values()):
            if isinstance(v, list):
                v.append("changed")
            elif isinstance(v, dict):
                v["changed"] = True
        if isinstance(part, list):
            part.append({"destination": "/changed"})
    second = one({"TZ": "Asia/Tokyo", "LANG": "C"})
    assert json.dumps(second) == text


def test_user_groups_and_home() -> None:
    s = make(user=ProcessUser(1000, 1000, (1000, 2000), "/home/app"))
    assert s["process"]["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 2000]}
    assert "HOME=/home/app" in s["process"]["env"]
    env = make(env=("HOME=/x",))["process"]["env"]
    assert "HOME=/x" in env and "HOME=/root" not in env


def test_namespaces_come_from_the_attachment() -> None:
    def kinds(a: Attachment) -> list[dict[str, Any]]:
        return list(make(attachment=a)["linux"]["namespaces"])

    own = [{"type": "pid"}, {"type": "network", "path": "/run/x/netns/c"}, {"type": "ipc"}, {"type": "uts"},
           {"type": "mount"}, {"type": "cgroup"}]  # fmt: skip
    assert kinds(Attachment((), "/run/x/netns/c")) == own
    assert kinds(Attachment((), "")) == [{"type": "network"} if "path" in n else n for n in own]  # a new, empty one
    assert kinds(Attachment((), None)) == [n for n in own if n["type"] != "network"]  # the host's


def test_masks_default_mounts_and_flags() -> None:
    s = make()
    assert s["linux"]["maskedPaths"] == list(spec.MASKED_PATHS)
    assert "/proc/sys" in s["linux"]["readonlyPaths"]
    dests = [m["destination"] for m in s["mounts"]]
    assert dests == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]
    sysfs = next(m for m in s["mounts"] if m["destination"] == "/sys")
    assert "ro" in sysfs["options"]
    assert s["process"]["noNewPrivileges"] is False
    assert make(no_new_privileges=True)["process"]["noNewPrivileges"] is True
    assert make(read_only=True)["root"]["readonly"] is True
    assert make(tty=True)["process"]["terminal"] is True
    assert make(labels=(("k", "v"),))["annotations"]["k"] == "v"


def test_privileged_has_no_masks_and_gets_the_resolved_devices() -> None:
    dev = {"path": "/dev/null", "type": "c", "major": 1, "minor": 3}
    p = make_plan(CID, ContainerConfig(cmd=("sh",)), RunOptions(privileged=True), nodename="h",
                  known_capabilities=ALL_CAPABILITIES)  # fmt: skip
    s = build_spec(p, Resolved("/r", ROOT, devices=(dev,)), Attachment())
    assert "maskedPaths" not in s["linux"] and "readonlyPaths" not in s["linux"] and "seccomp" not in s["linux"]
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert s["linux"]["devices"] == [dev]
    assert "devices" not in make()["linux"]


def test_resources() -> None:
    res = make(memory=64 << 20, memory_swap=128 << 20, nano_cpus=1_500_000_000, pids_limit=50, cpu_shares=512)[
        "linux"]["resources"]  # fmt: skip
    assert res["memory"] == {"limit": 64 << 20, "swap": 128 << 20}
    assert res["cpu"] == {"quota": 150_000, "period": 100_000, "shares": 512}
    assert res["pids"] == {"limit": 50}
    assert res["devices"][0] == {"allow": False, "access": "rwm"}
    assert "memory" not in make()["linux"]["resources"]


def test_mounts_in_order_hostname_network_init_user() -> None:
    net = Attachment(({"destination": "/etc/hosts", "type": "bind", "source": "/c/hosts", "options": ["rbind"]},))
    p = make_plan(CID, ContainerConfig(cmd=("sleep", "1")), RunOptions(init=True), nodename="h",
                  known_capabilities=ALL_CAPABILITIES, init_path="/usr/bin/tini")  # fmt: skip
    user = (MountSpec("bind", "/in", "/out", True), MountSpec("tmpfs", "/t", "tmpfs", False, ("size=1m",)))
    s = build_spec(p, Resolved("/r", ROOT, user, hostname_file="/c/hostname"), net)
    assert s["process"]["args"] == [INIT_DESTINATION, "--", "sleep", "1"]
    dests = [m["destination"] for m in s["mounts"]][7:]  # after the defaults, which the others may cover
    assert dests == ["/etc/hostname", "/etc/hosts", INIT_DESTINATION, "/in", "/t"]
    by = {m["destination"]: m for m in s["mounts"]}
    assert by["/etc/hostname"] == {"destination": "/etc/hostname", "type": "bind", "source": "/c/hostname",
                                   "options": ["rbind", "rprivate"]}  # fmt: skip
    assert by[INIT_DESTINATION]["source"] == "/usr/bin/tini" and "ro" in by[INIT_DESTINATION]["options"]
    assert by["/in"] == {"destination": "/in", "type": "bind", "source": "/out", "options": ["rbind", "rprivate", "ro"]}
    assert by["/t"]["type"] == "tmpfs" and "size=1m" in by["/t"]["options"] and "noexec" in by["/t"]["options"]


def test_ulimits_sysctls_shm() -> None:
    s = make(ulimits=(("RLIMIT_NOFILE", 10, 20),), sysctls=(("net.core.somaxconn", "7"),), shm_size=1 << 20)
    assert s["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]
    assert s["linux"]["sysctl"] == {"net.core.somaxconn": "7"}
    shm = next(m for m in s["mounts"] if m["destination"] == "/dev/shm")
    assert f"size={1 << 20}" in shm["options"]
    assert "rlimits" not in make()["process"] and "sysctl" not in make()["linux"]


def test_a_device_is_a_node_and_a_cgroup_rule() -> None:
    """--device: the node in linux.devices (without the permissions), allowed in the cgroup with them."""
    node = {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666, "uid": 0, "gid": 0}
    s = build_spec(PLAN, Resolved("/b/rootfs", ROOT, devices=({**node, "access": "r"},)), Attachment())
    assert s["linux"]["devices"] == [node]
    assert s["linux"]["resources"]["devices"][-1] == {"allow": True, "type": "c", "major": 1, "minor": 3,
                                                      "access": "r"}  # fmt: skip
