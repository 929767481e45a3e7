"""build_spec and the flag-value parsers (no root needed)."""

from __future__ import annotations

import signal

import pytest

from geedocker.containers import spec
from geedocker.containers.spec import MountSpec, RunOptions, build_spec
from geedocker.containers.users import ProcessUser
from geedocker.errors import UsageError
from geedocker.network.options import NetworkOptions
from geedocker.oci import ContainerConfig
from geedocker.runtime import capabilities

CID = "a" * 12 + "b" * 52
ROOT = ProcessUser(0, 0, (0,), "/root", "root")


def make(cfg: ContainerConfig | None = None, **kw: object) -> dict:  # type: ignore[type-arg]
    return build_spec(cfg or ContainerConfig(cmd=("sh",)), RunOptions(**kw), container_id=CID, user=ROOT)  # type: ignore[arg-type]


# --- entrypoint / cmd ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ep", "cmd", "flag_ep", "args", "want"),
    [
        (None, ("sh",), None, (), ["sh"]),
        (("/ep",), ("a", "b"), None, (), ["/ep", "a", "b"]),
        (("/ep",), ("a",), None, ("x",), ["/ep", "x"]),
        (("/ep",), ("a",), "/other", (), ["/other"]),  # --entrypoint resets Cmd
        (("/ep",), ("a",), "/other", ("y", "z"), ["/other", "y", "z"]),
        (("/ep",), ("a",), "", ("ls",), ["ls"]),  # --entrypoint "" clears it
        (None, None, None, ("echo", "hi"), ["echo", "hi"]),
    ],
)
def test_command_resolution(
    ep: tuple[str, ...] | None, cmd: tuple[str, ...] | None, flag_ep: str | None, args: tuple[str, ...], want: list[str]
) -> None:
    cfg = ContainerConfig(entrypoint=ep, cmd=cmd)
    assert spec.resolve_command(cfg, RunOptions(entrypoint=flag_ep, command=args)) == want
    assert make(cfg, entrypoint=flag_ep, command=args)["process"]["args"] == want


def test_no_command_is_an_error() -> None:
    with pytest.raises(UsageError, match="No command specified"):
        spec.resolve_command(ContainerConfig(), RunOptions())
    with pytest.raises(UsageError):
        spec.resolve_command(ContainerConfig(cmd=("sh",)), RunOptions(entrypoint=""))


# --- env --------------------------------------------------------------------------------------------


def test_env_defaults_image_and_flags_merge_in_order() -> None:
    cfg = ContainerConfig(cmd=("sh",), env=("A=1", "PATH=/img/bin", "B=2"))
    env = make(cfg, env=("B=3", "C=4"))["process"]["env"]
    assert env == ["PATH=/img/bin", f"HOSTNAME={CID[:12]}", "A=1", "B=3", "C=4", "HOME=/root"]


def test_env_default_path_term_and_explicit_home() -> None:
    env = make(tty=True, env=("HOME=/x",))["process"]["env"]
    assert env[0] == f"PATH={spec.DEFAULT_PATH}"
    assert "TERM=xterm" in env
    assert "HOME=/x" in env and "HOME=/root" not in env


def test_parse_env_list_takes_host_values_and_drops_unset() -> None:
    assert spec.parse_env_list(["A=1", "FROMHOST", "UNSET", "E="], {"FROMHOST": "h"}) == ["A=1", "FROMHOST=h", "E="]
    with pytest.raises(UsageError):
        spec.parse_env_list(["=x"], {})


def test_env_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "env"
    f.write_text("# comment\n\nA=1\nB=two words\nHOSTV\n")
    assert spec.parse_env_file(str(f), {"HOSTV": "v"}) == ["A=1", "B=two words", "HOSTV=v"]
    f.write_text("BAD KEY=1\n")
    with pytest.raises(UsageError, match="whitespace"):
        spec.parse_env_file(str(f), {})
    with pytest.raises(UsageError, match="open"):
        spec.parse_env_file(str(tmp_path / "missing"), {})


# --- user, cwd, hostname ----------------------------------------------------------------------------


def test_user_and_groups_in_process() -> None:
    user = ProcessUser(1000, 1000, (1000, 2000), "/home/app")
    s = build_spec(ContainerConfig(cmd=("id",)), RunOptions(), container_id=CID, user=user)
    assert s["process"]["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 2000]}
    assert "HOME=/home/app" in s["process"]["env"]


def test_workdir_and_hostname() -> None:
    s = make(ContainerConfig(cmd=("sh",), working_dir="/srv"))
    assert s["process"]["cwd"] == "/srv"
    assert make(workdir="/tmp/x/../y")["process"]["cwd"] == "/tmp/y"
    assert s["hostname"] == CID[:12]
    assert make(hostname="box")["hostname"] == "box"
    with pytest.raises(UsageError, match="absolute"):
        make(workdir="rel")


# --- security ---------------------------------------------------------------------------------------


def test_default_capabilities_are_dockers_14() -> None:
    caps = make()["process"]["capabilities"]
    assert sorted(caps["bounding"]) == sorted(capabilities.DEFAULT_CAPABILITIES)
    assert len(caps["bounding"]) == 14
    assert caps["effective"] == caps["bounding"] == caps["permitted"]


def test_cap_add_drop() -> None:
    known = capabilities.NAMES
    caps = spec.capabilities(RunOptions(cap_add=("sys_admin",), cap_drop=("CAP_CHOWN", "net_raw")), known)
    assert "CAP_SYS_ADMIN" in caps and "CAP_CHOWN" not in caps and "CAP_NET_RAW" not in caps
    assert len(caps) == 13
    assert spec.capabilities(RunOptions(cap_drop=("ALL",), cap_add=("KILL",)), known) == ["CAP_KILL"]
    assert spec.capabilities(RunOptions(cap_add=("ALL",), cap_drop=("MKNOD",)), known) == [
        c for c in known if c != "CAP_MKNOD"
    ]
    assert spec.capabilities(RunOptions(privileged=True), known) == list(known)
    with pytest.raises(UsageError, match="unknown capability"):
        spec.capabilities(RunOptions(cap_add=("FLY",)), known)


def test_namespaces_masks_and_mounts() -> None:
    s = make()
    types = [n["type"] for n in s["linux"]["namespaces"]]
    assert sorted(types) == ["cgroup", "ipc", "mount", "network", "pid", "uts"]
    assert s["linux"]["maskedPaths"] == list(spec.MASKED_PATHS)
    assert "/proc/sys" in s["linux"]["readonlyPaths"]
    dests = [m["destination"] for m in s["mounts"]]
    for d in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"):
        assert d in dests
    sysfs = next(m for m in s["mounts"] if m["destination"] == "/sys")
    assert "ro" in sysfs["options"]
    assert s["process"]["noNewPrivileges"] is False
    assert make(no_new_privileges=True)["process"]["noNewPrivileges"] is True
    assert s["root"] == {"path": "rootfs", "readonly": False}
    assert make(read_only=True)["root"]["readonly"] is True


def test_host_network_shares_the_netns() -> None:
    types = [n["type"] for n in make(net=NetworkOptions(mode="host"))["linux"]["namespaces"]]
    assert "network" not in types and "uts" in types


def test_privileged_has_no_masks() -> None:
    s = make(privileged=True)
    assert "maskedPaths" not in s["linux"] and "readonlyPaths" not in s["linux"]
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]


# --- resources --------------------------------------------------------------------------------------


def test_resources() -> None:
    s = make(memory=64 << 20, memory_swap=128 << 20, nano_cpus=1_500_000_000, pids_limit=50)
    res = s["linux"]["resources"]
    assert res["memory"] == {"limit": 64 << 20, "swap": 128 << 20}
    assert res["cpu"] == {"quota": 150_000, "period": 100_000}
    assert res["pids"] == {"limit": 50}
    assert res["devices"][0] == {"allow": False, "access": "rwm"}
    assert "memory" not in make()["linux"]["resources"]


@pytest.mark.parametrize(
    ("text", "want"),
    [("1024", 1024), ("512k", 512 << 10), ("64m", 64 << 20), ("1g", 1 << 30), ("1.5GB", 3 << 29), ("2MiB", 2 << 20)],
)
def test_parse_bytes(text: str, want: int) -> None:
    assert spec.parse_bytes(text) == want


def test_parse_memory_rules() -> None:
    assert spec.parse_memory("64m", None) == (64 << 20, 128 << 20)
    assert spec.parse_memory("64m", "-1") == (64 << 20, -1)
    assert spec.parse_memory(None, None) == (None, None)
    for mem, swap, msg in [
        ("1k", None, "Minimum memory"),
        ("lots", None, "invalid --memory"),
        ("64m", "32m", "larger than memory"),
        (None, "1g", "Memory limit"),
    ]:
        with pytest.raises(UsageError, match=msg):
            spec.parse_memory(mem, swap)


def test_parse_cpus() -> None:
    assert spec.parse_cpus("0.5") == 500_000_000
    assert spec.parse_cpus(None) is None
    with pytest.raises(UsageError):
        spec.parse_cpus("abc")
    with pytest.raises(UsageError, match="range of CPUs"):
        spec.parse_cpus("100000")


def test_parse_signal() -> None:
    assert spec.parse_signal("SIGTERM") == signal.SIGTERM
    assert spec.parse_signal("kill") == 9
    assert spec.parse_signal("15") == 15
    assert spec.parse_signal("SIGRTMIN+1") == signal.SIGRTMIN + 1
    for bad in ("NOPE", "0", "99"):
        with pytest.raises(UsageError):
            spec.parse_signal(bad)


def test_stop_signal_from_flag_or_image() -> None:
    assert make()["annotations"]["org.geedocker.stop-signal"] == "15"
    assert make(ContainerConfig(cmd=("sh",), stop_signal="SIGQUIT"))["annotations"]["org.geedocker.stop-signal"] == "3"
    assert make(stop_signal="USR1")["annotations"]["org.geedocker.stop-signal"] == str(int(signal.SIGUSR1))


# --- mounts -----------------------------------------------------------------------------------------


def test_parse_volume() -> None:
    assert spec.parse_volume("/a:/b") == MountSpec("bind", "/b", "/a", False)
    assert spec.parse_volume("/a/:/b/:ro") == MountSpec("bind", "/b", "/a", True, mode="ro")
    assert spec.parse_volume("named:/b/") == MountSpec("volume", "/b", "named", mode="z")
    assert spec.parse_volume("named:/b:ro,nocopy") == MountSpec("volume", "/b", "named", True, mode="ro,nocopy",
                                                                nocopy=True)  # fmt: skip
    assert spec.parse_volume("/data/") == MountSpec("volume", "/data")  # anonymous: named at create
    for bad, msg in [
        ("/a:rel", "absolute"),
        ("/a:/b:xx", "invalid mode"),
        ("/a:/b:nocopy", "invalid mode"),  # nocopy is for volumes
        ("named:/b:rshared", "invalid mode"),  # propagation is for binds
        ("a:b:c:d", "invalid volume"),
    ]:
        with pytest.raises(UsageError, match=msg):
            spec.parse_volume(bad)


def test_parse_mount_and_tmpfs() -> None:
    assert spec.parse_mount("type=bind,source=/s,target=/t,readonly") == MountSpec("bind", "/t", "/s", True)
    assert spec.parse_mount("type=bind,src=/s,dst=/t") == MountSpec("bind", "/t", "/s", False)
    m = spec.parse_mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777")
    assert m.type == "tmpfs" and m.options == (f"size={1 << 20}", "mode=1777")
    assert spec.parse_mount("type=volume,target=/t") == MountSpec("volume", "/t", "", mode="z")
    m = spec.parse_mount('type=volume,src=v1,target=/t,readonly,volume-nocopy,"volume-opt=o=size=1m,uid=5",'
                         "volume-opt=type=tmpfs,volume-label=a=b")  # fmt: skip
    assert (m.source, m.readonly, m.nocopy) == ("v1", True, True)
    assert m.volume_options == (("o", "size=1m,uid=5"), ("type", "tmpfs")) and m.volume_labels == (("a", "b"),)
    assert spec.MountSpec.from_json(m.to_json()) == m
    with pytest.raises(UsageError, match="type=volume"):
        spec.parse_mount("type=bind,source=/s,target=/t,volume-opt=a=b")
    with pytest.raises(UsageError, match="target"):
        spec.parse_mount("type=bind,source=/s")
    with pytest.raises(UsageError, match="unknown field"):
        spec.parse_mount("type=bind,source=/s,target=/t,color=red")
    want = MountSpec("tmpfs", "/run", "tmpfs", False, ("size=64m", "mode=755"))
    assert spec.parse_tmpfs("/run:size=64m,mode=755") == want
    with pytest.raises(UsageError):
        spec.parse_tmpfs("run")


def test_user_mounts_in_spec() -> None:
    s = make(mounts=(MountSpec("bind", "/in", "/out", True), MountSpec("tmpfs", "/t", "tmpfs", False, ("size=1m",))))
    bind = next(m for m in s["mounts"] if m["destination"] == "/in")
    assert bind == {"destination": "/in", "type": "bind", "source": "/out", "options": ["rbind", "rprivate", "ro"]}
    tmp = next(m for m in s["mounts"] if m["destination"] == "/t")
    assert tmp["type"] == "tmpfs" and "size=1m" in tmp["options"] and "noexec" in tmp["options"]
    # user mounts come after the defaults so they can cover them
    dests = [m["destination"] for m in s["mounts"]]
    assert dests.index("/in") > dests.index("/sys/fs/cgroup")


def test_run_options_json_round_trip() -> None:
    o = RunOptions(
        name="x", command=("a",), entrypoint="", env=("A=1",), mounts=(MountSpec("bind", "/b", "/a", True),),
        memory=1 << 30, memory_swap=-1, nano_cpus=10**9, labels=(("k", "v"),), tty=True,
    )  # fmt: skip
    assert RunOptions.from_json(o.to_json()) == o


def test_validate_name() -> None:
    assert spec.validate_name("/web.1_a-b") == "web.1_a-b"
    for bad in ("a", "-x", "a b", "x/y"):
        with pytest.raises(UsageError):
            spec.validate_name(bad)


def test_init_wraps_the_command() -> None:
    cfg = ContainerConfig(cmd=("sleep", "1"))
    s = build_spec(cfg, RunOptions(init=True), container_id=CID, user=ROOT, init_path="/usr/bin/tini")
    assert s["process"]["args"] == [spec.INIT_DESTINATION, "--", "sleep", "1"]
    m = next(m for m in s["mounts"] if m["destination"] == spec.INIT_DESTINATION)
    assert m["source"] == "/usr/bin/tini" and "ro" in m["options"]
    with pytest.raises(UsageError, match="--init"):
        build_spec(ContainerConfig(cmd=("sh",)), RunOptions(init=True), container_id=CID, user=ROOT)


def test_find_init_binary_prefers_the_environment() -> None:
    assert spec.find_init_binary({"GEEDOCKER_INIT_PATH": "/opt/init"}) == "/opt/init"


def test_ulimits_sysctls_shm() -> None:
    assert spec.parse_ulimit("nofile=1024:2048") == ("RLIMIT_NOFILE", 1024, 2048)
    assert spec.parse_ulimit("nproc=50") == ("RLIMIT_NPROC", 50, 50)
    assert spec.parse_ulimit("core=-1") == ("RLIMIT_CORE", 2**64 - 1, 2**64 - 1)
    for bad in ("nofile", "bogus=1", "nofile=2:1", "nofile=x"):
        with pytest.raises(UsageError):
            spec.parse_ulimit(bad)
    assert spec.parse_sysctl("net.ipv4.ip_forward=1") == ("net.ipv4.ip_forward", "1")
    with pytest.raises(UsageError, match="not namespaced"):
        spec.parse_sysctl("vm.swappiness=1")
    s = make(ulimits=(("RLIMIT_NOFILE", 10, 20),), sysctls=(("net.core.somaxconn", "7"),), shm_size=1 << 20)
    assert s["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]
    assert s["linux"]["sysctl"] == {"net.core.somaxconn": "7"}
    shm = next(m for m in s["mounts"] if m["destination"] == "/dev/shm")
    assert f"size={1 << 20}" in shm["options"]
    assert "rlimits" not in make()["process"] and "sysctl" not in make()["linux"]

