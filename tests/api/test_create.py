"""``POST /containers/create``'s body -> RunOptions: the CLI's HostConfig mapped, what geedocker lacks refused."""

from __future__ import annotations

from typing import Any

import pytest

from geedocker.api.create import options_from_body
from geedocker.api.errors import ApiError

# What docker 20.10's CLI sends for `docker run -it --rm --name web -p 8080:80 -v /tmp:/data:ro --cap-add NET_ADMIN
# -e A=1 --memory 64m --tmpfs /run --dns 1.1.1.1 --add-host h:10.0.0.1 --init busybox sh` (trimmed of nothing:
# every zero field stays, as the CLI sends them).
CLI_BODY: dict[str, Any] = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": True, "AttachStdout": True, "AttachStderr": True,
    "ExposedPorts": {"80/tcp": {}}, "Tty": True, "OpenStdin": True, "StdinOnce": True, "Env": ["A=1"],
    "Cmd": ["sh"], "Image": "busybox", "Volumes": {}, "WorkingDir": "", "Entrypoint": None, "OnBuild": None,
    "Labels": {}, "HostConfig": {
        "Binds": ["/tmp:/data:ro"], "ContainerIDFile": "", "LogConfig": {"Type": "", "Config": {}},
        "NetworkMode": "default", "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": True, "VolumeDriver": "",
        "VolumesFrom": None, "CapAdd": ["NET_ADMIN"], "CapDrop": None, "CgroupnsMode": "", "Dns": ["1.1.1.1"],
        "DnsOptions": [], "DnsSearch": [], "ExtraHosts": ["h:10.0.0.1"], "GroupAdd": None, "IpcMode": "",
        "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False,
        "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None, "Tmpfs": {"/run": ""},
        "UTSMode": "", "UsernsMode": "", "ShmSize": 0, "ConsoleSize": [0, 0], "Isolation": "", "CpuShares": 0,
        "Memory": 67108864, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": None, "CpuPeriod": 0, "CpuQuota": 0, "CpusetCpus": "", "Devices": [],
        "DeviceCgroupRules": None, "DeviceRequests": None, "KernelMemory": 0, "MemoryReservation": 0,
        "MemorySwap": 0, "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": None, "Ulimits": None,
        "Init": True, "MaskedPaths": None, "ReadonlyPaths": None,
    },
    "NetworkingConfig": {"EndpointsConfig": {}},
}  # fmt: skip


def test_the_clis_body_maps_to_run_options() -> None:
    image, o = options_from_body(CLI_BODY, "web")
    assert image == "busybox" and o.name == "web"
    assert o.tty and o.interactive and o.rm and o.init
    assert o.command == ("sh",) and o.entrypoint is None and o.env == ("A=1",)
    assert [(m.type, m.source, m.target, m.readonly) for m in o.mounts] == [
        ("bind", "/tmp", "/data", True), ("tmpfs", "tmpfs", "/run", False)]
    assert o.memory == 64 * 1024 * 1024 and o.memory_swap == 128 * 1024 * 1024
    assert o.cap_add == ("NET_ADMIN",)
    assert o.net.mode == "bridge" and o.net.dns == ("1.1.1.1",) and o.net.add_hosts == (("h", "10.0.0.1"),)
    assert [(p.host_port, p.container_port, p.protocol) for p in o.net.ports] == [(8080, 80, "tcp")]


def test_entrypoint_list_keeps_its_arguments_before_cmd() -> None:
    _, o = options_from_body({"Image": "x", "Entrypoint": ["sh", "-c"], "Cmd": ["echo hi"]}, "")
    assert o.entrypoint == "sh" and o.command == ("-c", "echo hi")
    _, o = options_from_body({"Image": "x", "Entrypoint": []}, "")
    assert o.entrypoint == ""  # an empty entrypoint resets the image's


@pytest.mark.parametrize(("patch", "message"), [
    ({"Bogus": True}, "unknown field Config.Bogus"),
    ({"HostConfig": {"CpuShares": 512}}, "HostConfig.CpuShares is not supported by geedocker"),
    ({"HostConfig": {"RestartPolicy": {"Name": "always"}}}, "restart policy 'always' is not supported"),
    ({"HostConfig": {"LogConfig": {"Type": "syslog"}}}, "only the json-file log driver"),
    ({"HostConfig": {"PidMode": "host"}}, "HostConfig.PidMode='host' is not supported"),
    ({"HostConfig": {"Memory": 1024}}, "Minimum memory limit allowed is 6MB"),
    ({"HostConfig": {"Binds": ["/a:relative"]}}, "the container path must be absolute"),
    ({"Healthcheck": {"Test": ["CMD", "true"]}}, "Healthcheck is not supported"),
    ({"Cmd": [1]}, "Cmd: a list of strings was expected"),
    ({"Image": ""}, "Config.Image is required"),
])  # fmt: skip
def test_what_geedocker_lacks_or_cannot_parse_is_a_400(patch: dict[str, Any], message: str) -> None:
    body: dict[str, Any] = {"Image": "busybox", **patch}
    with pytest.raises(ApiError) as e:
        options_from_body(body, "")
    assert e.value.status == 400 and message in e.value.message
