"""The engine's decisions for a container (``make_plan``): pure, so no root needed."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from geedocker.containers import plan as plan_
from geedocker.containers.options import RunOptions
from geedocker.containers.plan import ContainerPlan, make_plan
from geedocker.errors import UsageError
from geedocker.network.options import NetworkOptions
from geedocker.oci import ContainerConfig
from geedocker.runtime.capabilities import DEFAULT_CAPABILITIES
from geedocker.runtime.capabilities import NAMES as ALL_CAPABILITIES

CID = "a" * 12 + "b" * 52


def plan(cfg: ContainerConfig | None = None, init_path: str | None = None, **kw: object) -> ContainerPlan:
    return make_plan(CID, cfg or ContainerConfig(cmd=("sh",)), RunOptions(**kw),  # type: ignore[arg-type]
                     nodename="thehost", known_capabilities=ALL_CAPABILITIES, init_path=init_path)  # fmt: skip


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
    assert plan_.resolve_command(cfg, RunOptions(entrypoint=flag_ep, command=args)) == want
    assert plan(cfg, entrypoint=flag_ep, command=args).command == tuple(want)


def test_no_command_is_an_error() -> None:
    with pytest.raises(UsageError, match="No command specified"):
        plan(ContainerConfig())
    with pytest.raises(UsageError, match="No command specified"):
        plan(ContainerConfig(cmd=("sh",)), entrypoint="")


def test_env_defaults_image_and_flags_merge_in_order() -> None:
    cfg = ContainerConfig(cmd=("sh",), env=("A=1", "PATH=/img/bin", "B=2"))
    assert plan(cfg, env=("B=3", "C=4")).env == ("PATH=/img/bin", f"HOSTNAME={CID[:12]}", "A=1", "B=3", "C=4")


def test_env_default_path_and_term() -> None:
    env = plan(tty=True).env
    assert env == (f"PATH={plan_.DEFAULT_PATH}", f"HOSTNAME={CID[:12]}", "TERM=xterm")


def test_workdir_hostname_and_user() -> None:
    p = plan(ContainerConfig(cmd=("sh",), working_dir="/srv", user="app"))
    assert (p.workdir, p.hostname, p.user) == ("/srv", CID[:12], "app")
    assert plan(workdir="/tmp/x/../y").workdir == "/tmp/y"
    assert plan(hostname="box").hostname == "box"
    assert plan(net=NetworkOptions(mode="host")).hostname == "thehost"  # the host's name, as docker
    assert plan(user="0:0").user == "0:0"
    with pytest.raises(UsageError, match="absolute"):
        plan(workdir="rel")


def test_stop_signal_and_timeout_from_flag_or_image() -> None:
    assert (plan().stop_signal, plan().stop_timeout) == (signal.SIGTERM, plan_.DEFAULT_STOP_TIMEOUT)
    assert plan(ContainerConfig(cmd=("sh",), stop_signal="SIGQUIT")).stop_signal == signal.SIGQUIT
    assert plan(stop_signal="USR1", stop_timeout=3).stop_signal == signal.SIGUSR1
    assert plan(stop_timeout=3).stop_timeout == 3
    with pytest.raises(UsageError, match="invalid signal"):
        plan(stop_signal="NOPE")


def test_default_capabilities_are_dockers_14() -> None:
    caps = plan().capabilities
    assert sorted(caps) == sorted(DEFAULT_CAPABILITIES) and len(caps) == 14


def test_cap_add_drop() -> None:
    known = ALL_CAPABILITIES
    caps = plan_.capabilities(RunOptions(cap_add=("sys_admin",), cap_drop=("CAP_CHOWN", "net_raw")), known)
    assert "CAP_SYS_ADMIN" in caps and "CAP_CHOWN" not in caps and "CAP_NET_RAW" not in caps
    assert len(caps) == 13
    assert plan_.capabilities(RunOptions(cap_drop=("ALL",), cap_add=("KILL",)), known) == ["CAP_KILL"]
    assert plan_.capabilities(RunOptions(cap_add=("ALL",), cap_drop=("MKNOD",)), known) == [
        c for c in known if c != "CAP_MKNOD"
    ]
    assert plan(privileged=True).capabilities == known
    with pytest.raises(UsageError, match="unknown capability"):
        plan(cap_add=("FLY",))


def test_init_needs_a_binary_and_is_kept_only_with_init() -> None:
    assert plan(init=True, init_path="/usr/bin/tini").init_path == "/usr/bin/tini"
    assert plan(init_path="/usr/bin/tini").init_path == ""
    with pytest.raises(UsageError, match="--init"):
        plan(init=True)


def test_the_cgroup_is_under_the_engines_parent() -> None:
    assert plan().cgroups_path == plan_.engine_cgroups_path(CID) == f"/{plan_.OWN_PARENT}/{CID}"


def test_find_init_binary_prefers_the_environment() -> None:
    assert plan_.find_init_binary({"GEEDOCKER_INIT_PATH": "/opt/init"}) == "/opt/init"


def test_custom_devices_stat_the_host_node() -> None:
    """--device: the node as linux.devices takes it, at its container path, with the permissions for the cgroup."""
    import os

    from geedocker.containers.plan import custom_devices
    from geedocker.errors import UsageError

    (d,) = custom_devices([("/dev/null", "/dev/mynull", "rw")])
    st = os.stat("/dev/null")
    assert d == {"path": "/dev/mynull", "type": "c", "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                 "fileMode": st.st_mode & 0o7777, "uid": st.st_uid, "gid": st.st_gid, "access": "rw"}  # fmt: skip
    with pytest.raises(UsageError, match='adding custom device "/nonexistent": no such file or directory') as e:
        custom_devices([("/nonexistent", "/x", "rwm")])
    assert e.value.exit_code == 127  # docker's run: a start error naming a missing file
    assert custom_devices([("/nonexistent", "/x", "rwm")], missing_ok=True) == []  # create: start looks again
    with pytest.raises(UsageError, match='adding custom device "/etc/hostname": not a device node'):
        custom_devices([("/etc/hostname", "/x", "rwm")])


def test_a_device_directory_gives_its_nodes(tmp_path: Path) -> None:
    """--device DIR: every node under it, at the same place under the container path (as docker's)."""
    import os

    from geedocker.containers.plan import custom_devices

    (tmp_path / "sub").mkdir()
    os.symlink("/dev/null", tmp_path / "sub" / "null")  # a link is no node of the directory's (lstat, as docker)
    (tmp_path / "plain").write_text("x")
    assert custom_devices([(str(tmp_path), "/dev/x", "r")]) == []
    if os.path.exists("/dev/net/tun"):
        (d,) = custom_devices([("/dev/net", "/dev/mynet", "rw")])
        assert (d["path"], d["type"], d["access"]) == ("/dev/mynet/tun", "c", "rw")
