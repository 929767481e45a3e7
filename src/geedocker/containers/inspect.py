"""``inspect_container``: docker-like JSON for one container."""

from __future__ import annotations

import json

from geedocker import network
from geedocker.containers.options import RunOptions
from geedocker.containers.refresh import refresh
from geedocker.containers.store import ContainerRecord, ContainerStore, Status
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from typing import Any

_ZERO_TIME = "0001-01-01T00:00:00Z"


def inspect_container(layout: Layout, name: str) -> dict[str, Any]:
    """Id, Name, State, Config, HostConfig, Image, Mounts... as ``docker inspect`` shows a container."""
    store = ContainerStore(layout)
    rec = refresh(layout, store.resolve(name))
    st = rec.state
    opts = rec.options
    cfg = rec.image_config
    try:
        spec = json.loads((store.bundle(rec.id) / "config.json").read_bytes())
    except (OSError, ValueError):
        spec = {}
    process = spec.get("process") or {}
    paused = store.is_paused(rec)
    status = "paused" if paused else st.status.value
    return {
        "Id": rec.id,
        "Created": rec.created,
        "Path": rec.args[0] if rec.args else "",
        "Args": list(rec.args[1:]),
        "State": {
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
        },
        "Image": rec.image_id,
        "ResolvConfPath": str(store.dir(rec.id) / "resolv.conf"),
        "HostnamePath": str(store.dir(rec.id) / "hostname"),
        "HostsPath": str(store.dir(rec.id) / "hosts"),
        "LogPath": str(store.log_path(rec.id)),
        "Name": "/" + rec.name,
        "RestartCount": st.restart_count,
        "Driver": "overlay",
        "Platform": "linux",
        "HostConfig": {
            "Binds": [f"{m.source}:{m.target}{':ro' if m.readonly else ''}" for m in opts.mounts if m.type == "bind"],
            "NetworkMode": opts.network,
            "RestartPolicy": {"Name": (opts.restart.partition(":")[0] or "no"),
                              "MaximumRetryCount": int(opts.restart.partition(":")[2] or 0)},
            "AutoRemove": opts.rm,
            "CapAdd": list(opts.cap_add) or None,
            "CapDrop": list(opts.cap_drop) or None,
            "Privileged": opts.privileged,
            "ReadonlyRootfs": opts.read_only,
            "SecurityOpt": _security_opt(opts),
            "Tmpfs": {m.target: ",".join(m.options) for m in opts.mounts if m.type == "tmpfs"} or None,
            "Memory": opts.memory or 0,
            "MemorySwap": opts.memory_swap or 0,
            "NanoCpus": opts.nano_cpus or 0,
            "PidsLimit": opts.pids_limit,
            "Init": opts.init or None,
        },
        "GraphDriver": {
            "Name": "overlay",
            "Data": {
                "LowerDir": ":".join(rec.lower_dirs),
                "UpperDir": str(store.dir(rec.id) / "upper"),
                "WorkDir": str(store.dir(rec.id) / "work"),
                "MergedDir": str(store.rootfs(rec.id)),
            },
        },
        "Mounts": _mounts(layout, rec),
        "Config": {
            "Hostname": rec.hostname,
            "User": opts.user or cfg.user,
            "AttachStdin": opts.interactive and not opts.detach,
            "AttachStdout": not opts.detach,
            "AttachStderr": not opts.detach,
            "Tty": opts.tty,
            "OpenStdin": opts.interactive,
            "Env": list(process.get("env") or []),
            "Cmd": _cmd(rec.options.command, opts.entrypoint, cfg.cmd),
            "Image": rec.image,
            "WorkingDir": opts.workdir or cfg.working_dir,
            "Entrypoint": _entrypoint(opts.entrypoint, cfg.entrypoint),
            "Labels": rec.labels,
            "StopSignal": str(rec.stop_signal),
            "StopTimeout": rec.stop_timeout,
        },
        "NetworkSettings": network.describe(layout, rec.id, opts.network),  # network hook
    }


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
