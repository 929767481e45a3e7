"""``/_ping``, ``/version``, ``/info``, ``/system/df``, ``/auth``."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

from geedocker.api.app import API_VERSION, MIN_API_VERSION
from geedocker.api.errors import ApiError
from geedocker.api.messages import Request, Response, json_response
from geedocker.containers.engine import Engine

VERSION = "0.1.0"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def ping(req: Request) -> Response:
    # docker: "OK" as text/plain, and for HEAD no body; the headers (Api-Version...) come from the server
    return Response(200, b"OK", content_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"})  # fmt: skip


def version(req: Request) -> Response:
    u = os.uname()
    arch = _ARCH.get(u.machine, u.machine)
    details = {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": arch,
               "KernelVersion": u.release, "GitCommit": "", "GoVersion": "", "BuildTime": "",
               "Experimental": "false"}  # fmt: skip
    return json_response({
        "Platform": {"Name": "geedocker"},
        "Components": [{"Name": "Engine", "Version": VERSION, "Details": details}],
        "Version": VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": u.release,
        "BuildTime": "",
    })


def _counts(req: Request) -> dict[str, int]:
    from geedocker.containers.record import Status
    from geedocker.containers.refresh import refresh
    from geedocker.errors import GeeDockerError

    running = stopped = 0
    store = Engine.of(req.layout).containers
    for rec in store.list():
        try:
            rec = refresh(req.layout, rec)
        except GeeDockerError:
            continue
        if rec.state.status == Status.RUNNING:
            running += 1
        else:
            stopped += 1
    return {"Containers": running + stopped, "ContainersRunning": running, "ContainersPaused": 0,
            "ContainersStopped": stopped}  # fmt: skip


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def info(req: Request) -> Response:
    from geedocker.containers.backend import backend_name
    from geedocker.images.local import list_images
    from geedocker.runtime.cgroups import is_unified

    u = os.uname()
    cgv = 2 if is_unified() else 1
    d: dict[str, Any] = {
        "ID": _host_id(req),
        **_counts(req),
        "Images": len({r.id for r in list_images(req.layout)}),
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "overlayfs"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": None,
                    "Log": ["json-file"]},  # fmt: skip
        "MemoryLimit": True,
        "SwapLimit": True,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "PidsLimit": True,
        "IPv4Forwarding": True,
        "Debug": False,
        "NFd": len(os.listdir("/proc/self/fd")),
        "NGoroutines": 0,
        "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": str(cgv),
        "NEventsListener": 0,
        "KernelVersion": u.release,
        "OperatingSystem": _os_name(),
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": u.machine,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": ["127.0.0.0/8"], "Mirrors": []},
        "NCPU": os.cpu_count() or 1,
        "MemTotal": _mem_total(),
        "DockerRootDir": str(req.layout.root),
        "Name": u.nodename,
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": VERSION,
        "Runtimes": {"geedocker": {"path": "geedocker-runtime"}, "runc": {"path": "runc"}},
        "DefaultRuntime": backend_name(),
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                  "Error": "", "RemoteManagers": None},  # fmt: skip
        "LiveRestoreEnabled": True,  # containers outlive the service: each has its own monitor
        "Isolation": "",
        "InitBinary": "catatonit",
        "SecurityOptions": ["name=seccomp,profile=default"],
        "Warnings": None,
    }
    return json_response(d)


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", "Linux")
    except OSError:
        return "Linux"


def _host_id(req: Request) -> str:
    try:
        with open("/etc/machine-id") as f:
            return f.read().strip()
    except OSError:
        return ""


def df(req: Request) -> Response:
    from geedocker.images.local import list_images

    images = [{"Id": r.id, "RepoTags": [f"{r.repository}:{r.tag}"], "Size": r.size, "SharedSize": -1,
               "Containers": -1, "Created": 0, "ParentId": "", "RepoDigests": [], "VirtualSize": r.size,
               "Labels": {}} for r in list_images(req.layout)]  # fmt: skip
    containers = [{"Id": r.id, "Names": ["/" + r.name], "Image": r.image, "ImageID": r.image_id,
                   "State": r.state.status.value, "SizeRw": 0, "SizeRootFs": 0, "Labels": dict(r.options.labels)}
                  for r in Engine.of(req.layout).containers.list()]  # fmt: skip
    return json_response({"LayersSize": sum(i["Size"] for i in images), "Images": images,
                          "Containers": containers, "Volumes": [], "BuildCache": []})  # fmt: skip


def auth(req: Request) -> Response:
    """Check credentials against the registry (docker login's daemon side); nothing is saved here: the client
    keeps them, as with docker."""
    from geedocker.registry import Credentials, RegistryClient, RegistryConfig, StaticCredentials
    from geedocker.values import replace

    body = req.json()
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    user, password = str(body.get("username") or ""), str(body.get("password") or "")
    server = str(body.get("serveraddress") or "docker.io")
    host = server.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    if host in ("index.docker.io", "docker.io", "registry-1.docker.io", ""):
        host = "registry-1.docker.io"
    if not user or not password:
        raise ApiError(400, "username and password are required")
    cfg = replace(RegistryConfig.from_env(), credentials=StaticCredentials({host: Credentials(user, password)}))
    client = RegistryClient(host, config=cfg)
    try:
        client.ping()
    finally:
        client.close()
    return json_response({"Status": "Login Succeeded", "IdentityToken": ""})

