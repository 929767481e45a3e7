"""``inspect_container``: ``docker inspect``'s JSON for one container, with dockerd 20.10's keys in its order.

Every key docker shows is here, filled from what geedocker applies: the flags kept in the record
(``RunOptions``), the image's config, the network state, and geedocker's fixed choices where docker has a
setting geedocker does not offer (a private IPC, PID, UTS and cgroup namespace for every container, no cgroup
parent, no blkio or realtime limits: docker's zero values). ``omitempty`` keys (``Tmpfs``, ``Sysctls``,
``Init``, ``HostConfig.Mounts``, ``Config.StopSignal``...) appear only when set, as in docker's.
"""

from __future__ import annotations

import json

from geedocker import network
from geedocker.containers.engine import Engine
from geedocker.containers.options import MountSpec, RunOptions
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.refresh import refresh
from geedocker.format.struct import GoObject
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from typing import Any

    from geedocker.oci import ContainerConfig

_ZERO_TIME = "0001-01-01T00:00:00Z"
DEFAULT_SHM_SIZE = 64 << 20  # docker's and geedocker's /dev/shm without --shm-size


def inspect_container(layout: Layout, name: str) -> dict[str, Any]:
    """Id, State, HostConfig, Mounts, Config, NetworkSettings... as ``docker inspect`` shows a container."""
    store = Engine.of(layout).containers
    rec = refresh(layout, store.resolve(name))
    st = rec.state
    paused = store.is_paused(rec)
    status = "paused" if paused else st.status.value
    anonymous = _anonymous_volumes(layout, rec.options.mounts)
    return GoObject({
        "Id": rec.id,
        "Created": rec.created,
        "Path": rec.args[0] if rec.args else "",
        "Args": list(rec.args[1:]),
        "State": GoObject({
            "Status": status,
            "Running": st.status == Status.RUNNING,
            "Paused": paused,
            "Restarting": st.restarting,
            "OOMKilled": st.oom_killed,
            "Dead": st.status == Status.DEAD,
            "Pid": st.pid if st.status == Status.RUNNING else 0,
            "ExitCode": st.exit_code,
            "Error": st.error,
            "StartedAt": st.started_at or _ZERO_TIME,
            "FinishedAt": st.finished_at or _ZERO_TIME,
            **_health(layout, rec),
        }, {"Health": None}, {"Health": "ptr"}),
        "Image": rec.image_id,
        "ResolvConfPath": str(store.dir(rec.id) / "resolv.conf"),
        "HostnamePath": str(store.dir(rec.id) / "hostname"),
        "HostsPath": str(store.dir(rec.id) / "hosts"),
        "LogPath": str(store.log_path(rec.id)),
        "Name": "/" + rec.name,
        "RestartCount": st.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",  # no SELinux labels
        "ProcessLabel": "",
        "AppArmorProfile": "",  # no AppArmor profile is applied
        "ExecIDs": None,
        "HostConfig": host_config(rec.options, anonymous),
        "GraphDriver": {
            "Data": {
                "LowerDir": ":".join(rec.lower_dirs),
                "MergedDir": str(store.rootfs(rec.id)),
                "UpperDir": str(store.dir(rec.id) / "upper"),
                "WorkDir": str(store.dir(rec.id) / "work"),
            },
            "Name": "overlay2",
        },
        "Mounts": _mounts(layout, rec),
        "Config": _config(rec, anonymous),
        "NetworkSettings": network.describe(layout, rec.id, rec.options.network),  # network hook
    }, {"Node": None, "SizeRw": None, "SizeRootFs": 0}, {"Node": "ptr", "SizeRw": "ptr", "ExecIDs": "slice"})


def host_config(opts: RunOptions, anonymous: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """docker's HostConfig for these options, every key in docker's order (``anonymous``: the names of the
    container's anonymous volumes, which docker keeps out of Binds)."""
    from geedocker.containers.options import MASKED_PATHS, READONLY_PATHS

    binds = [_bind_text(m) for m in opts.mounts if _in_binds(m, opts) and m.source not in anonymous]
    restart_name, _, retries = opts.restart.partition(":")
    out: dict[str, Any] = {
        "Binds": binds or None,
        "ContainerIDFile": opts.cidfile,
        "LogConfig": {"Type": opts.log_driver or "json-file", "Config": dict(opts.log_opts)},
        "NetworkMode": opts.network,
        "PortBindings": _port_bindings(opts),
        "RestartPolicy": {"Name": restart_name or "no", "MaximumRetryCount": int(retries or 0)},
        "AutoRemove": opts.rm,
        "VolumeDriver": "",
        "VolumesFrom": list(opts.volumes_from) or None,
        "CapAdd": [_cap(c) for c in opts.cap_add] or None,
        "CapDrop": [_cap(c) for c in opts.cap_drop] or None,
        "CgroupnsMode": "private",  # every container gets its own cgroup namespace
        "Dns": list(opts.net.dns),
        "DnsOptions": list(opts.net.dns_options),
        "DnsSearch": list(opts.net.dns_search),
        "ExtraHosts": [f"{h}:{ip}" for h, ip in opts.net.add_hosts] or None,
        "GroupAdd": list(opts.group_add) or None,
        "IpcMode": "private",
        "Cgroup": "",
        "Links": None,
        "OomScoreAdj": 0,
        "PidMode": "",
        "Privileged": opts.privileged,
        "PublishAllPorts": opts.net.publish_all,
        "ReadonlyRootfs": opts.read_only,
        "SecurityOpt": _security_opt(opts),
        "Tmpfs": {m.target: ",".join(m.options) for m in opts.mounts if m.type == "tmpfs" and m.flag != "--mount"},
        "UTSMode": "",
        "UsernsMode": "",
        "ShmSize": opts.shm_size or DEFAULT_SHM_SIZE,
        "Sysctls": dict(opts.sysctls),
        "Runtime": "runc",  # docker's name for the default OCI runtime (geedocker's own core takes its place)
        "ConsoleSize": [0, 0],
        "Isolation": "",
        # Resources
        "CpuShares": opts.cpu_shares or 0,
        "Memory": opts.memory or 0,
        "NanoCpus": opts.nano_cpus or 0,
        "CgroupParent": "",
        "BlkioWeight": 0,
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": 0,
        "CpuQuota": 0,
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": "",
        "CpusetMems": "",
        "Devices": [{"PathOnHost": h, "PathInContainer": c, "CgroupPermissions": p} for h, c, p in opts.devices],
        "DeviceCgroupRules": None,
        "DeviceRequests": None,
        "KernelMemory": 0,
        "KernelMemoryTCP": 0,
        "MemoryReservation": 0,
        "MemorySwap": opts.memory_swap or 0,
        "MemorySwappiness": None,
        "OomKillDisable": False,
        "PidsLimit": opts.pids_limit,
        "Ulimits": [{"Name": n.removeprefix("RLIMIT_").lower(), "Hard": hard, "Soft": soft}
                    for n, soft, hard in opts.ulimits],  # fmt: skip
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "Mounts": [_mount_spec(m) for m in opts.mounts if m.flag == "--mount"],
        # a privileged container has neither (docker's null); others the paths geedocker masks
        "MaskedPaths": None if opts.privileged else list(MASKED_PATHS),
        "ReadonlyPaths": None if opts.privileged else list(READONLY_PATHS),
        "Init": opts.init or None,
    }
    return GoObject({k: v for k, v in out.items() if not (k in _HOST_OMITEMPTY and not v)}, _HOST_OMITEMPTY,
                    _HOST_NILS)


# HostConfig's omitempty fields and their zero values (a template still finds them: see GoObject)
_HOST_OMITEMPTY: dict[str, object] = {"StorageOpt": None, "Tmpfs": None, "Sysctls": None, "Mounts": None,
                                      "Init": None}  # fmt: skip
# the Go kinds of its fields that may be nil (a template prints a nil slice "[]", a nil pointer "<nil>")
_HOST_NILS = {**dict.fromkeys(("Binds", "VolumesFrom", "CapAdd", "CapDrop", "ExtraHosts", "GroupAdd", "Links",
                               "SecurityOpt", "DeviceCgroupRules", "DeviceRequests", "Mounts", "MaskedPaths",
                               "ReadonlyPaths"), "slice"),
              **dict.fromkeys(("StorageOpt", "Tmpfs", "Sysctls"), "map"),
              **dict.fromkeys(("PidsLimit", "MemorySwappiness", "Init"), "ptr")}  # fmt: skip


def _in_binds(m: MountSpec, opts: RunOptions) -> bool:
    """A ``-v`` bind or named volume (a record from before flags were kept: any bind without --volumes-from)."""
    if m.type not in ("bind", "volume"):
        return False
    return m.flag == "-v" or (not m.flag and m.type == "bind" and not opts.volumes_from)


def _bind_text(m: MountSpec) -> str:
    """As docker keeps a ``-v`` value: SOURCE:TARGET[:MODE] (a volume's default mode "z" is not shown)."""
    mode = "" if m.type == "volume" and m.mode == "z" else m.mode
    return f"{m.source}:{m.target}" + (f":{mode}" if mode else "")


def _mount_spec(m: MountSpec) -> dict[str, Any]:
    """A ``--mount`` as docker's mount.Mount (HostConfig.Mounts)."""
    d: dict[str, Any] = {"Type": m.type}
    if m.type != "tmpfs" and m.source:
        d["Source"] = m.source
    d["Target"] = m.target
    if m.readonly:
        d["ReadOnly"] = True
    if m.type == "bind" and m.options:
        d["BindOptions"] = {"Propagation": m.options[0]}
    if m.type == "volume":
        vo: dict[str, Any] = {}
        if m.nocopy:
            vo["NoCopy"] = True
        if m.volume_labels:
            vo["Labels"] = dict(m.volume_labels)
        if m.volume_options:
            vo["DriverConfig"] = {"Options": dict(m.volume_options)}
        if vo:
            d["VolumeOptions"] = vo
    if m.type == "tmpfs":
        to: dict[str, int] = {}
        for o in m.options:
            k, _, v = o.partition("=")
            if k == "size" and v.isdigit():
                to["SizeBytes"] = int(v)
            elif k == "mode":
                to["Mode"] = int(v, 8)
        if to:
            d["TmpfsOptions"] = to
    return d


def _port_bindings(opts: RunOptions) -> dict[str, list[dict[str, str]]]:
    """``-p``: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} (an unset host port is "")."""
    out: dict[str, list[dict[str, str]]] = {}
    for p in opts.net.ports:
        out.setdefault(p.key, []).append({"HostIp": p.host_ip, "HostPort": str(p.host_port) if p.host_port else ""})
    return out


def _cap(name: str) -> str:
    """dockerd 20.10 keeps capabilities as CAP_NAME (and ALL as it is)."""
    n = name.strip().upper()
    return n if n == "ALL" or n.startswith("CAP_") else "CAP_" + n


def _config(rec: ContainerRecord, anonymous: set[str]) -> dict[str, Any]:
    """docker's container Config: the image's run config with the flags over it."""
    from geedocker.images.local import docker_config

    opts = rec.options
    cfg = rec.image_config
    exposed: dict[str, dict[str, Any]] = {p: {} for p in cfg.exposed_ports}
    exposed.update({p.key: {} for p in opts.net.ports})
    volumes: dict[str, dict[str, Any]] = {v: {} for v in cfg.volumes}
    volumes.update({m.target: {} for m in opts.mounts if m.type == "volume" and m.source in anonymous})
    stdin_once = opts.interactive and ("stdin" in opts.attach if opts.attach else not opts.detach)
    return docker_config(
        cfg,
        Hostname=rec.hostname,
        User=opts.user or cfg.user,
        AttachStdin="stdin" in opts.attach if opts.attach else opts.interactive and not opts.detach,
        AttachStdout="stdout" in opts.attach if opts.attach else not opts.detach,
        AttachStderr="stderr" in opts.attach if opts.attach else not opts.detach,
        ExposedPorts=dict(sorted(exposed.items())) or None,
        Tty=opts.tty,
        OpenStdin=opts.interactive,
        StdinOnce=stdin_once,
        Env=_env(cfg, opts) or None,
        Cmd=_cmd(opts.command, opts.entrypoint, cfg.cmd),
        Healthcheck=json.loads(opts.health) if opts.health else cfg.get("Healthcheck"),
        Image=rec.image,
        Volumes=dict(sorted(volumes.items())) or None,
        WorkingDir=opts.workdir or cfg.working_dir,
        Entrypoint=_entrypoint(opts.entrypoint, cfg.entrypoint),
        OnBuild=None,
        Labels=rec.labels,
        StopSignal=opts.stop_signal or cfg.stop_signal or None,
        StopTimeout=opts.stop_timeout,
    )


def _env(cfg: ContainerConfig, opts: RunOptions) -> list[str]:
    """As dockerd merges them: the flags' variables, then the image's that they do not set (the variables the
    engine adds at start, HOSTNAME, TERM and HOME, are not part of the config)."""
    given = {e.partition("=")[0] for e in opts.env}
    return list(opts.env) + [e for e in cfg.env if e.partition("=")[0] not in given]


def _cmd(args: tuple[str, ...], entrypoint: str | None, image_cmd: tuple[str, ...] | None) -> list[str] | None:
    if args:
        return list(args)
    if entrypoint is not None or not image_cmd:
        return None
    return list(image_cmd)


def _entrypoint(flag: str | None, image_ep: tuple[str, ...] | None) -> list[str] | None:
    if flag is not None:
        return [flag] if flag else None
    return list(image_ep) if image_ep else None


def _security_opt(opts: RunOptions) -> list[str] | None:
    """docker's HostConfig.SecurityOpt: the options as given (a seccomp profile file as its JSON), and
    ``label=disable`` added for a privileged container, as docker's daemon adds it."""
    out = list(opts.security_opt)
    if not out and opts.no_new_privileges:  # a record written before security_opt was kept
        out = ["no-new-privileges"]
    if opts.privileged and "label=disable" not in out:
        out.append("label=disable")
    return out or None


def _anonymous_volumes(layout: Layout, mounts: tuple[MountSpec, ...]) -> set[str]:
    """The names of these mounts' anonymous volumes (docker lists them in Config.Volumes, not in Binds)."""
    names = [m.source for m in mounts if m.type == "volume" and m.source]
    if not names:
        return set()  # without loading the volume store
    from geedocker.errors import GeeDockerError

    vstore = Engine.of(layout).volumes
    out = set()
    for n in names:
        try:
            if vstore.get(n).anonymous:
                out.add(n)
        except GeeDockerError:
            continue
    return out


def _mounts(layout: Layout, rec: ContainerRecord) -> list[dict[str, Any]]:
    if not rec.options.mounts:
        return []  # without loading the volume code (and the runtime's mount code it imports)
    from geedocker.containers.volumes import mounts_json  # here: it loads the volume store

    return mounts_json(rec, layout)


def _health(layout: Layout, rec: ContainerRecord) -> dict[str, Any]:
    if not rec.image_config.get("Healthcheck"):
        return {}
    from geedocker.containers import health  # here: only containers with a healthcheck need it

    if health.config(rec) is None:
        return {}
    return {"Health": health.load(layout, rec.id) or {"Status": "starting", "FailingStreak": 0, "Log": []}}
