"""``POST /containers/create``'s body -> RunOptions: the CLI's HostConfig mapped, what geedocker lacks refused."""

from __future__ import annotations

import json
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


def test_restart_log_health_shares_devices_and_cidfile_map_to_the_run_flags() -> None:
    # what docker's CLI sends for `--restart on-failure:3 --log-opt max-size=1m --log-opt max-file=2
    # --health-cmd "true" --health-interval 2s --health-retries 4 -c 512 --device /dev/null:/dev/n:r
    # --cidfile /tmp/id --expose 9000`
    body: dict[str, Any] = {
        "Image": "busybox", "ExposedPorts": {"9000/tcp": {}},
        "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 2_000_000_000, "Timeout": 0, "StartPeriod": 0,
                        "Retries": 4},
        "HostConfig": {
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}},
            "CpuShares": 512, "ContainerIDFile": "/tmp/id",
            "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "r"}],
        },
    }  # fmt: skip
    _, o = options_from_body(body, "")
    assert o.restart == "on-failure:3"
    assert o.log_driver == "" and o.log_opts == (("max-file", "2"), ("max-size", "1m"))
    assert json.loads(o.health) == {"Test": ["CMD-SHELL", "true"], "Interval": 2_000_000_000, "Retries": 4}
    assert o.cpu_shares == 512 and o.cidfile == "/tmp/id" and o.expose == ("9000/tcp",)
    assert o.devices == (("/dev/null", "/dev/n", "r"),)


@pytest.mark.parametrize(("host", "want"), [
    ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 0}}, "always"),
    ({"RestartPolicy": {"Name": "unless-stopped"}}, "unless-stopped"),
    ({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 0}}, "on-failure"),
    ({"RestartPolicy": {"Name": "no"}}, ""),
    ({"RestartPolicy": {"Name": ""}}, ""),
])  # fmt: skip
def test_restart_policies(host: dict[str, Any], want: str) -> None:
    assert options_from_body({"Image": "x", "HostConfig": host}, "")[1].restart == want


def test_no_healthcheck_log_driver_none_and_a_device_with_defaults() -> None:
    body: dict[str, Any] = {"Image": "x", "Healthcheck": {"Test": ["NONE"]}, "HostConfig": {
        "LogConfig": {"Type": "none", "Config": {}},
        "Devices": [{"PathOnHost": "/dev/fuse", "PathInContainer": "", "CgroupPermissions": ""}]}}  # fmt: skip
    _, o = options_from_body(body, "")
    assert json.loads(o.health) == {"Test": ["NONE"]} and o.log_driver == "none"
    assert o.devices == (("/dev/fuse", "/dev/fuse", "rwm"),)


@pytest.mark.parametrize(("patch", "message"), [
    ({"Bogus": True}, "unknown field Config.Bogus"),
    ({"HostConfig": {"CpuQuota": 5000}}, "HostConfig.CpuQuota is not supported by geedocker"),
    ({"Domainname": "example.org"}, "Config.Domainname is not supported by geedocker"),
    ({"HostConfig": {"CpuShares": -5}}, "shares: invalid argument"),
    # dockerd's own messages (checked against dockerd 20.10)
    ({"HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}, "invalid restart policy 'sometimes'"),
    ({"HostConfig": {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}}},
     "maximum retry count cannot be used with restart policy 'always'"),
    ({"HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": -1}}},
     "maximum retry count cannot be negative"),
    ({"HostConfig": {"RestartPolicy": {"Name": "always"}, "AutoRemove": True}},
     "can't create 'AutoRemove' container with restart policy"),
    ({"Healthcheck": {"Test": ["CMD", "true"], "Interval": 5}}, "Interval in Healthcheck cannot be less than 1ms"),
    ({"Healthcheck": {"Test": ["CMD", "true"], "Timeout": 5}}, "Timeout in Healthcheck cannot be less than 1ms"),
    ({"Healthcheck": {"Test": ["CMD", "true"], "StartPeriod": 5}},
     "StartPeriod in Healthcheck cannot be less than 1ms"),
    ({"Healthcheck": {"Test": ["CMD", "true"], "Retries": -1}}, "Retries in Healthcheck cannot be negative"),
    ({"Healthcheck": {"Test": ["CMD", "true"], "StartInterval": 5}}, "StartInterval is not supported"),
    ({"Healthcheck": {"Test": ["BOGUS", "true"]}}, "unknown healthcheck type 'BOGUS'"),
    ({"HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"bogus": "1"}}}},
     "unknown log opt 'bogus' for json-file log driver"),
    ({"HostConfig": {"LogConfig": {"Type": "nosuch"}}}, 'error looking up logging plugin nosuch: plugin "nosuch"'),
    ({"HostConfig": {"LogConfig": {"Type": "syslog"}}}, "logging driver 'syslog' is not supported by geedocker"),
    ({"HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"max-size": "abc"}}}}, "invalid size: 'abc'"),
    ({"HostConfig": {"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "rel"}]}},
     "bad format for path: rel"),
    ({"HostConfig": {"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n",
                                  "CgroupPermissions": "xyz"}]}}, "bad mode specified: xyz"),
    ({"HostConfig": {"Sysctls": {"kernel.foo": "1"}}}, "sysctl 'kernel.foo' is not namespaced"),
    ({"HostConfig": {"MemorySwap": 1 << 30}}, "You should always set the Memory limit when using Memoryswap"),
    ({"ExposedPorts": {"http/tcp": {}}}, "invalid range format for --expose"),
    ({"HostConfig": {"PidMode": "host"}}, "HostConfig.PidMode='host' is not supported"),
    ({"HostConfig": {"Memory": 1024}}, "Minimum memory limit allowed is 6MB"),
    ({"HostConfig": {"Binds": ["/a:relative"]}}, "the container path must be absolute"),
    ({"Cmd": [1]}, "Cmd: a list of strings was expected"),
    ({"Image": ""}, "Config.Image is required"),
])  # fmt: skip
def test_what_geedocker_lacks_or_cannot_parse_is_a_400(patch: dict[str, Any], message: str) -> None:
    body: dict[str, Any] = {"Image": "busybox", **patch}
    with pytest.raises(ApiError) as e:
        options_from_body(body, "")
    assert e.value.status == 400 and message in e.value.message
