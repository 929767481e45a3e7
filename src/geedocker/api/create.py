"""``POST /containers/create``'s body (Config, HostConfig, NetworkingConfig) -> the engine's ``RunOptions``.

The values go through the same parsers as ``geedocker run``'s flags (``containers.flags``, ``.mountflags``,
``.logflags``, ``network.options``, ``containers.restart``, ``containers.health``), so both front ends accept and
refuse the same things (a value dockerd takes at create and fails at start, a bad device or log option, is refused
here at create). A field geedocker does not honour is refused with a 400 naming it when it asks for something (a
non-zero value); a zero value is accepted, as clients send every field of their structs. A field docker's API
does not have at all is refused the same way.
"""

from __future__ import annotations

from typing import Any

from geedocker.api.errors import ApiError
from geedocker.containers import flags, logflags, mountflags
from geedocker.containers.options import MountSpec, RunOptions
from geedocker.errors import UsageError
from geedocker.network.options import NetworkOptions, network_options

# Fields whose value is read below, or that only describe the client's side (Attach*, StdinOnce, ...).
_CONFIG_USED = {
    "Hostname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts", "Tty",
    "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint", "Labels",
    "StopSignal", "StopTimeout", "ArgsEscaped", "HostConfig", "NetworkingConfig", "OnBuild", "Shell",
    "NetworkDisabled", "MacAddress", "Healthcheck",
}  # fmt: skip
# Docker's fields that geedocker does not honour: refused when they ask for something.
_CONFIG_UNSUPPORTED = {"Platform", "Domainname"}
_HOST_USED = {
    "Binds", "Mounts", "Tmpfs", "PortBindings", "PublishAllPorts", "NetworkMode", "RestartPolicy", "AutoRemove",
    "CapAdd", "CapDrop", "Privileged", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "Init",
    "ReadonlyRootfs", "SecurityOpt", "ShmSize", "Sysctls", "Ulimits", "Memory", "MemorySwap", "NanoCpus",
    "PidsLimit", "LogConfig", "ConsoleSize", "Isolation", "CgroupnsMode", "MemorySwappiness", "OomKillDisable",
    "ContainerIDFile", "Runtime", "IpcMode", "PidMode", "UTSMode", "UsernsMode", "Cgroup", "MaskedPaths",
    "ReadonlyPaths", "Annotations", "VolumesFrom", "CpuShares", "Devices",
}  # fmt: skip
_HOST_UNSUPPORTED = {
    "VolumeDriver", "Links", "OomScoreAdj", "StorageOpt", "CgroupParent", "BlkioWeight",
    "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime",
    "CpusetCpus", "CpusetMems", "DeviceCgroupRules", "DeviceRequests", "KernelMemory",
    "KernelMemoryTCP", "MemoryReservation", "CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth",
}  # fmt: skip
_HEALTH_USED = {"Test", "Interval", "Timeout", "Retries", "StartPeriod"}
_HEALTH_UNSUPPORTED = {"StartInterval"}  # API 1.44: after the 1.41 geedocker serves


def _zero(v: Any) -> bool:
    """What a client sends for a field it has no value for."""
    if isinstance(v, dict):
        return all(_zero(x) for x in v.values())
    if isinstance(v, list):
        return all(_zero(x) for x in v)
    return v in (None, "", 0, False)


def _check_fields(d: dict[str, Any], used: set[str], unsupported: set[str], where: str) -> None:
    for k, v in d.items():
        if k in used or _zero(v):
            continue
        if k in unsupported:
            raise ApiError(400, f"{where}.{k} is not supported by geedocker")
        raise ApiError(400, f"unknown field {where}.{k}")


def _strs(v: Any, what: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ApiError(400, f"{what}: a list of strings was expected")
    return list(v)


def _dict(v: Any, what: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ApiError(400, f"{what}: an object was expected")
    return v


def _int(v: Any, what: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ApiError(400, f"{what}: an integer was expected")
    return v


def _mount(m: Any) -> MountSpec:
    """One of HostConfig.Mounts (docker's mount.Mount)."""
    m = _dict(m, "HostConfig.Mounts[]")
    typ = str(m.get("Type") or "volume")
    target = str(m.get("Target") or "")
    source = str(m.get("Source") or "")
    parts = [f"type={typ}", f"target={target}"]
    if source:
        parts.append(f"source={source}")
    if m.get("ReadOnly"):
        parts.append("readonly")
    bind = _dict(m.get("BindOptions"), "BindOptions")
    if bind.get("Propagation"):
        parts.append(f"bind-propagation={bind['Propagation']}")
    tmpfs = _dict(m.get("TmpfsOptions"), "TmpfsOptions")
    if tmpfs.get("SizeBytes"):
        parts.append(f"tmpfs-size={int(tmpfs['SizeBytes'])}")
    if tmpfs.get("Mode"):
        parts.append(f"tmpfs-mode={int(tmpfs['Mode']):o}")
    if any("," in p for p in parts):
        raise ApiError(400, f"invalid mount {m!r}")
    return mountflags.parse_mount(",".join(parts))


def _ports(bindings: dict[str, Any]) -> list[str]:
    """PortBindings -> ``-p`` specs (``hostIP:hostPort:containerPort/proto``)."""
    out = []
    for key, hosts in bindings.items():
        port, _, proto = key.partition("/")
        for h in hosts or [{}]:
            h = _dict(h, "PortBindings[]")
            ip = str(h.get("HostIp") or "")
            hp = str(h.get("HostPort") or "")
            out.append(f"{ip + ':' if ip else ''}{hp + ':' if hp or ip else ''}{port}/{proto or 'tcp'}")
    return out


def options_from_body(body: Any, name: str) -> tuple[str, RunOptions]:
    """The image and the RunOptions of a create request (ApiError 400 on a bad or unsupported value)."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    host = _dict(body.get("HostConfig"), "HostConfig")
    netcfg = _dict(body.get("NetworkingConfig"), "NetworkingConfig")
    _check_fields(body, _CONFIG_USED, _CONFIG_UNSUPPORTED, "Config")
    _check_fields(host, _HOST_USED, _HOST_UNSUPPORTED, "HostConfig")
    image = body.get("Image")
    if not isinstance(image, str) or not image:
        raise ApiError(400, "Config.Image is required")
    try:
        return image, _options(body, host, netcfg, name)
    except UsageError as e:
        raise ApiError(400, str(e)) from e


def _refuse_modes(host: dict[str, Any]) -> None:
    for key, allowed in (("IpcMode", ("", "private", "shareable")), ("PidMode", ("",)), ("UTSMode", ("",)),
                         ("UsernsMode", ("",)), ("CgroupnsMode", ("", "private")), ("Cgroup", ("",)),
                         ("Isolation", ("", "default")), ("Runtime", ("", "runc", "geedocker"))):  # fmt: skip
        if str(host.get(key) or "") not in allowed:
            raise ApiError(400, f"HostConfig.{key}={host[key]!r} is not supported by geedocker")
    if host.get("OomKillDisable"):
        raise ApiError(400, "HostConfig.OomKillDisable is not supported by geedocker")
    swappiness = host.get("MemorySwappiness")
    if swappiness not in (None, -1, 0):
        raise ApiError(400, "HostConfig.MemorySwappiness is not supported by geedocker")
    for key in ("MaskedPaths", "ReadonlyPaths"):
        if host.get(key) is not None and host.get(key) != []:
            raise ApiError(400, f"HostConfig.{key} is not supported by geedocker")


def _restart(host: dict[str, Any]) -> str:
    """HostConfig.RestartPolicy -> ``--restart``'s value, with dockerd's checks (``containers.restart``)."""
    from geedocker.containers import restart

    policy = _dict(host.get("RestartPolicy"), "HostConfig.RestartPolicy")
    name = policy.get("Name") or ""
    if not isinstance(name, str):
        raise ApiError(400, "HostConfig.RestartPolicy.Name: a string was expected")
    count = _int(policy.get("MaximumRetryCount"), "HostConfig.RestartPolicy.MaximumRetryCount") or 0
    return restart.from_api(name, count, auto_remove=bool(host.get("AutoRemove")))


def _log(host: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """HostConfig.LogConfig -> ``--log-driver`` and ``--log-opt``, checked as the flags are."""
    log = _dict(host.get("LogConfig"), "HostConfig.LogConfig")
    config = _dict(log.get("Config"), "HostConfig.LogConfig.Config")
    return logflags.parse_log_options(str(log.get("Type") or ""), [f"{k}={v}" for k, v in config.items()])


def _health(body: dict[str, Any]) -> str:
    """Config.Healthcheck (durations in nanoseconds, as ``--health-*`` become) -> RunOptions.health."""
    import json

    from geedocker.containers.health import check

    hc = _dict(body.get("Healthcheck"), "Config.Healthcheck")
    _check_fields(hc, _HEALTH_USED, _HEALTH_UNSUPPORTED, "Config.Healthcheck")
    out = check(hc)
    return json.dumps(out) if out else ""


def _devices(host: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """HostConfig.Devices (docker's DeviceMapping) -> ``--device`` values, read by the flag's parser; an empty
    container path or permissions take the flag's defaults (the host path, rwm)."""
    out = []
    for d in host.get("Devices") or []:
        d = _dict(d, "HostConfig.Devices[]")
        parts = [str(d.get(k) or "") for k in ("PathOnHost", "PathInContainer", "CgroupPermissions")]
        if any(":" in p for p in parts):
            raise ApiError(400, f"invalid device specification: {':'.join(parts)}")
        out.append(flags.parse_device(":".join(p for p in parts if p) if parts[0] else ""))
    return tuple(out)


def _expose(body: dict[str, Any]) -> tuple[str, ...]:
    """Config.ExposedPorts ("80/tcp": {}) -> ``--expose``'s values (the image's are added at create)."""
    return tuple(sorted({p for key in _dict(body.get("ExposedPorts"), "Config.ExposedPorts")
                         for p in flags.parse_expose(str(key))}))  # fmt: skip


def _memory(host: dict[str, Any]) -> tuple[int | None, int | None]:
    """Memory and MemorySwap (bytes; 0 unset, swap -1 unlimited) through ``--memory``'s checks."""
    memory = _int(host.get("Memory"), "Memory") or None
    swap = _int(host.get("MemorySwap"), "MemorySwap") or None
    return flags.parse_memory(None if memory is None else str(memory), None if swap is None else str(swap))


def _options(body: dict[str, Any], host: dict[str, Any], netcfg: dict[str, Any], name: str) -> RunOptions:
    _refuse_modes(host)
    if body.get("NetworkDisabled") or body.get("MacAddress"):
        raise ApiError(400, "Config.NetworkDisabled and Config.MacAddress are not supported by geedocker")
    cmd = _strs(body.get("Cmd"), "Cmd")
    ep_raw = body.get("Entrypoint")
    entrypoint: str | None = None
    if ep_raw is not None:
        ep = _strs(ep_raw, "Entrypoint")
        entrypoint = ep[0] if ep else ""
        cmd = ep[1:] + cmd  # the engine's entrypoint is one word (--entrypoint): the rest go before Cmd
    mounts = [mountflags.parse_volume(b) for b in _strs(host.get("Binds"), "HostConfig.Binds")]
    mounts += [_mount(m) for m in host.get("Mounts") or []]
    targets = {m.target for m in mounts}
    for path in _dict(body.get("Volumes"), "Volumes"):  # `-v /path`: an anonymous volume
        if path not in targets:
            mounts.append(mountflags.parse_volume(path))
    if host.get("VolumesFrom"):
        from geedocker.containers.volumes import parse_volumes_from

        for v in _strs(host.get("VolumesFrom"), "HostConfig.VolumesFrom"):
            parse_volumes_from(v)
    for path, o in _dict(host.get("Tmpfs"), "HostConfig.Tmpfs").items():
        mounts.append(mountflags.parse_tmpfs(f"{path}:{o}" if o else path))
    memory, swap = _memory(host)
    nano = _int(host.get("NanoCpus"), "NanoCpus") or None
    if nano is not None:
        flags.parse_cpus(str(nano / 1e9))  # the same range check as --cpus
    pids = _int(host.get("PidsLimit"), "PidsLimit")
    if pids is not None and pids <= 0:
        pids = None if pids == 0 else -1
    from geedocker.containers.seccomp import parse_security_opts

    security_opt, nnp = parse_security_opts(_strs(host.get("SecurityOpt"), "SecurityOpt"), inline=True)
    ulimits = []
    for u in host.get("Ulimits") or []:
        u = _dict(u, "Ulimits[]")
        ulimits.append(flags.parse_ulimit(f"{u.get('Name')}={u.get('Soft')}:{u.get('Hard')}"))
    stop_signal = str(body.get("StopSignal") or "")
    if stop_signal:
        flags.parse_signal(stop_signal)
    for c in _strs(host.get("CapAdd"), "CapAdd") + _strs(host.get("CapDrop"), "CapDrop"):
        flags.normalize_capability(c)
    workdir = str(body.get("WorkingDir") or "")
    if workdir and not workdir.startswith("/"):
        raise ApiError(400, f"the working directory {workdir!r} is invalid, it needs to be an absolute path")
    if name:
        flags.validate_name(name)
    shm = _int(host.get("ShmSize"), "ShmSize") or None
    log_driver, log_opts = _log(host)
    return RunOptions(
        name=name.lstrip("/"),
        command=tuple(cmd),
        entrypoint=entrypoint,
        env=tuple(flags.parse_env_list(_strs(body.get("Env"), "Env"), environ={})),
        workdir=workdir,
        user=str(body.get("User") or ""),
        hostname=str(body.get("Hostname") or ""),
        read_only=bool(host.get("ReadonlyRootfs")),
        mounts=tuple(mounts),
        memory=memory,
        memory_swap=swap,
        nano_cpus=nano,
        cpu_shares=flags.check_cpu_shares(_int(host.get("CpuShares"), "CpuShares")),
        pids_limit=pids,
        health=_health(body),
        restart=_restart(host),
        init=bool(host.get("Init")),
        stop_signal=stop_signal,
        stop_timeout=_int(body.get("StopTimeout"), "StopTimeout"),
        tty=bool(body.get("Tty")),
        interactive=bool(body.get("OpenStdin")),
        rm=bool(host.get("AutoRemove")),
        net=_network(body, host, netcfg),
        cap_add=tuple(_strs(host.get("CapAdd"), "CapAdd")),
        cap_drop=tuple(_strs(host.get("CapDrop"), "CapDrop")),
        privileged=bool(host.get("Privileged")),
        no_new_privileges=nnp,
        security_opt=security_opt,
        labels=tuple(sorted((str(k), str(v)) for k, v in _dict(body.get("Labels"), "Labels").items())),
        group_add=tuple(_strs(host.get("GroupAdd"), "GroupAdd")),
        ulimits=tuple(ulimits),
        sysctls=tuple(sorted(flags.parse_sysctl(f"{k}={v}") for k, v in
                             _dict(host.get("Sysctls"), "Sysctls").items())),  # fmt: skip
        shm_size=shm,
        volumes_from=tuple(_strs(host.get("VolumesFrom"), "HostConfig.VolumesFrom")),
        devices=_devices(host),
        log_driver=log_driver,
        log_opts=log_opts,
        cidfile=str(host.get("ContainerIDFile") or ""),  # the client writes it (docker's CLI does); inspect shows it
        expose=_expose(body),
    )


def _network(body: dict[str, Any], host: dict[str, Any], netcfg: dict[str, Any]) -> NetworkOptions:
    mode = str(host.get("NetworkMode") or "default")
    if mode == "default":
        mode = "bridge"
    endpoints = _dict(netcfg.get("EndpointsConfig"), "NetworkingConfig.EndpointsConfig")
    if len(endpoints) > 1:
        raise ApiError(400, "Container cannot be connected to network endpoints: only one network at create")
    ip = ""
    aliases: list[str] = []
    for net_name, ep in endpoints.items():
        ep = _dict(ep, "EndpointsConfig[]")
        if net_name == "default":
            net_name = "bridge"
        if net_name != mode:
            raise ApiError(400, f"EndpointsConfig names {net_name!r} but NetworkMode is {mode!r}")
        ipam = _dict(ep.get("IPAMConfig"), "IPAMConfig")
        ip = str(ipam.get("IPv4Address") or "")
        aliases = [a for a in _strs(ep.get("Aliases"), "Aliases") if a]
    publish = _ports(_dict(host.get("PortBindings"), "HostConfig.PortBindings"))
    return network_options(
        network=mode,
        publish=publish,
        publish_all=bool(host.get("PublishAllPorts")),
        ip=ip,
        dns=_strs(host.get("Dns"), "Dns"),
        dns_search=_strs(host.get("DnsSearch"), "DnsSearch"),
        dns_options=_strs(host.get("DnsOptions"), "DnsOptions"),
        add_hosts=_strs(host.get("ExtraHosts"), "ExtraHosts"),
        aliases=aliases,
    )
