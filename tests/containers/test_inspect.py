"""inspect_container's docker-like JSON, from a record on disk (no root needed)."""

from __future__ import annotations

import json

from geedocker.containers.inspect import inspect_container
from geedocker.containers.options import MountSpec, RunOptions
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import ContainerStore
from geedocker.oci import ContainerConfig
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339


def test_inspect_fields(layout: Layout) -> None:
    store = ContainerStore(layout)
    opts = RunOptions(
        name="web", command=("echo", "hi"), rm=True, read_only=True, memory=64 << 20, memory_swap=128 << 20,
        mounts=(MountSpec("bind", "/in", "/out", True, mode="ro"),),
        labels=(("k", "v"),), tty=True, cap_add=("NET_ADMIN",), env=("A=1",),
    )  # fmt: skip
    cfg = ContainerConfig(entrypoint=("/ep",), cmd=("default",), working_dir="/srv", user="app",
                          env=("PATH=/bin", "A=0"))

    def make(cid: str, name: str) -> ContainerRecord:
        return ContainerRecord(
            id=cid, name=name, image="busybox:latest", image_id="sha256:" + "c" * 64, created=now_rfc3339(),
            args=("/ep", "echo", "hi"), options=opts, image_config=cfg, lower_dirs=("/l1", "/l0"), hostname=cid[:12],
            stop_signal=15, stop_timeout=10,
        )  # fmt: skip

    rec = store.create(make, "web")
    (store.bundle(rec.id) / "config.json").write_text(json.dumps({"process": {"env": ["PATH=/bin", "A=1"]}}))
    store.update_state(rec.id, status=Status.EXITED, exit_code=3, started_at=now_rfc3339(), finished_at=now_rfc3339())
    d = inspect_container(layout, "web")
    assert d["Id"] == rec.id and d["Name"] == "/web" and d["Image"] == "sha256:" + "c" * 64
    assert d["Path"] == "/ep" and d["Args"] == ["echo", "hi"]
    st = d["State"]
    assert st["Status"] == "exited" and st["Running"] is False and st["ExitCode"] == 3 and st["Pid"] == 0
    assert st["StartedAt"].endswith("Z") and st["FinishedAt"].endswith("Z")
    c = d["Config"]
    assert c["Entrypoint"] == ["/ep"] and c["Cmd"] == ["echo", "hi"] and c["WorkingDir"] == "/srv"
    assert c["User"] == "app" and c["Tty"] is True and c["Labels"] == {"k": "v"}
    assert c["Env"] == ["A=1", "PATH=/bin"]  # dockerd's merge: the flags', then the image's others
    h = d["HostConfig"]
    assert h["AutoRemove"] is True and h["ReadonlyRootfs"] is True and h["Memory"] == 64 << 20
    assert h["Binds"] == ["/out:/in:ro"] and h["CapAdd"] == ["CAP_NET_ADMIN"]
    assert d["Mounts"] == [
        {"Type": "bind", "Source": "/out", "Destination": "/in", "Mode": "ro", "RW": False, "Propagation": "rprivate"}
    ]
    assert d["GraphDriver"]["Data"]["LowerDir"] == "/l1:/l0"
    assert json.dumps(d)  # serialisable
    # by id prefix too
    assert inspect_container(layout, rec.id[:10])["Id"] == rec.id


def test_a_never_started_container(layout: Layout) -> None:
    store = ContainerStore(layout)

    def make(cid: str, name: str) -> ContainerRecord:
        return ContainerRecord(
            id=cid, name=name, image="", image_id="", created=now_rfc3339(), args=("sh",),
            options=RunOptions(entrypoint=""), image_config=ContainerConfig(cmd=("sh",)), lower_dirs=(),
        )  # fmt: skip

    store.create(make, "fresh")
    d = inspect_container(layout, "fresh")
    assert d["State"]["Status"] == "created" and d["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
    assert d["Config"]["Entrypoint"] is None and d["Config"]["Cmd"] is None


# dockerd 20.10's keys, in its order (the omitempty ones left out: they come only when set)
TOP_KEYS = ["Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath", "HostsPath", "LogPath",
            "Name", "RestartCount", "Driver", "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile", "ExecIDs",
            "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings"]  # fmt: skip
HOST_KEYS = ["Binds", "ContainerIDFile", "LogConfig", "NetworkMode", "PortBindings", "RestartPolicy", "AutoRemove",
             "VolumeDriver", "VolumesFrom", "CapAdd", "CapDrop", "CgroupnsMode", "Dns", "DnsOptions", "DnsSearch",
             "ExtraHosts", "GroupAdd", "IpcMode", "Cgroup", "Links", "OomScoreAdj", "PidMode", "Privileged",
             "PublishAllPorts", "ReadonlyRootfs", "SecurityOpt", "UTSMode", "UsernsMode", "ShmSize", "Runtime",
             "ConsoleSize", "Isolation", "CpuShares", "Memory", "NanoCpus", "CgroupParent", "BlkioWeight",
             "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
             "BlkioDeviceWriteIOps", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus",
             "CpusetMems", "Devices", "DeviceCgroupRules", "DeviceRequests", "KernelMemory", "KernelMemoryTCP",
             "MemoryReservation", "MemorySwap", "MemorySwappiness", "OomKillDisable", "PidsLimit", "Ulimits",
             "CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth", "MaskedPaths",
             "ReadonlyPaths"]  # fmt: skip
CONFIG_KEYS = ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
               "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels"]


def test_docker_keys_in_dockers_order(layout: Layout) -> None:
    store = ContainerStore(layout)

    def make(cid: str, name: str) -> ContainerRecord:
        return ContainerRecord(id=cid, name=name, image="bb", image_id="", created=now_rfc3339(), args=("sh",),
                               options=RunOptions(), image_config=ContainerConfig(cmd=("sh",)), lower_dirs=())

    store.create(make, "plain")
    d = inspect_container(layout, "plain")
    assert list(d) == TOP_KEYS and list(d["HostConfig"]) == HOST_KEYS and list(d["Config"]) == CONFIG_KEYS
    h = d["HostConfig"]
    assert h["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert h["LogConfig"] == {"Type": "json-file", "Config": {}} and h["ShmSize"] == 64 << 20
    assert h["Binds"] is None and h["PortBindings"] == {} and h["Dns"] == [] and h["ExtraHosts"] is None
    assert "/proc/kcore" in h["MaskedPaths"] and "/proc/sys" in h["ReadonlyPaths"]
    assert d["Config"]["Env"] is None and d["Config"]["Labels"] == {} and d["ExecIDs"] is None


def test_flags_show_where_docker_shows_them(layout: Layout) -> None:
    from geedocker.containers import mountflags
    from geedocker.network.options import NetworkOptions, PortSpec

    store = ContainerStore(layout)
    mounts = (mountflags.parse_volume("/h:/b:ro"), mountflags.parse_volume("named:/v"),
              mountflags.parse_tmpfs("/run:size=1m"),
              mountflags.parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777"),
              mountflags.parse_mount("type=bind,src=/h,dst=/b2,bind-propagation=rslave"),
              mountflags.parse_mount("type=volume,src=mv,dst=/mv,volume-nocopy,volume-label=a=b"))  # fmt: skip
    net = NetworkOptions(mode="none", ports=(PortSpec(80, "tcp", "", 8080), PortSpec(53, "udp", "127.0.0.1", 0)),
                         publish_all=True, dns=("1.1.1.1",), dns_search=("example.com",), dns_options=("ndots:2",),
                         add_hosts=(("foo", "10.0.0.1"),))  # fmt: skip
    opts = RunOptions(mounts=mounts, net=net, restart="on-failure:3", ulimits=(("RLIMIT_NOFILE", 1024, 2048),),
                      group_add=("10",), sysctls=(("net.ipv4.ip_forward", "1"),), init=True, stop_signal="SIGINT",
                      stop_timeout=20, shm_size=128 << 20, cap_drop=("mknod",), privileged=True, interactive=True,
                      tty=True, pids_limit=100, env=("A=1",))  # fmt: skip

    def make(cid: str, name: str) -> ContainerRecord:
        return ContainerRecord(id=cid, name=name, image="bb", image_id="", created=now_rfc3339(), args=("sh",),
                               options=opts, image_config=ContainerConfig(cmd=("sh",), exposed_ports=("9000/tcp",)),
                               lower_dirs=())  # fmt: skip

    store.create(make, "rich")
    d = inspect_container(layout, "rich")
    h, c = d["HostConfig"], d["Config"]
    assert h["Binds"] == ["/h:/b:ro", "named:/v"] and h["Tmpfs"] == {"/run": "size=1m"}
    assert h["Mounts"] == [
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1777}},
        {"Type": "bind", "Source": "/h", "Target": "/b2", "BindOptions": {"Propagation": "rslave"}},
        {"Type": "volume", "Source": "mv", "Target": "/mv", "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b"}}},
    ]
    assert h["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                 "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}  # fmt: skip
    assert h["PublishAllPorts"] is True and h["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert (h["Dns"], h["DnsSearch"], h["DnsOptions"]) == (["1.1.1.1"], ["example.com"], ["ndots:2"])
    assert h["ExtraHosts"] == ["foo:10.0.0.1"] and h["GroupAdd"] == ["10"] and h["CapDrop"] == ["CAP_MKNOD"]
    assert h["Ulimits"] == [{"Name": "nofile", "Hard": 2048, "Soft": 1024}] and h["Init"] is True
    assert h["Sysctls"] == {"net.ipv4.ip_forward": "1"} and h["ShmSize"] == 128 << 20 and h["PidsLimit"] == 100
    assert h["MaskedPaths"] is None and h["ReadonlyPaths"] is None and h["SecurityOpt"] == ["label=disable"]
    # the omitempty ones where docker's struct has them
    after = {"Tmpfs": "SecurityOpt", "Sysctls": "ShmSize", "Mounts": "IOMaximumBandwidth", "Init": "ReadonlyPaths"}
    keys = list(h)
    assert [k for k in keys if k not in HOST_KEYS] == list(after)
    assert all(keys[keys.index(k) - 1] == before for k, before in after.items())
    assert c["ExposedPorts"] == {"53/udp": {}, "80/tcp": {}, "9000/tcp": {}}
    assert c["StopSignal"] == "SIGINT" and c["StopTimeout"] == 20 and c["StdinOnce"] is True
    assert c["Env"] == ["A=1"] and c["OpenStdin"] is True and c["AttachStdin"] is True
    assert [m["Destination"] for m in d["Mounts"]] == ["/b", "/b2", "/mv", "/t", "/v"]  # no --tmpfs, as docker
