"""``geedocker info [--format F]``: system-wide information, as ``docker info`` prints it."""

from __future__ import annotations

import argparse
import sys

from geedocker.containers.engine import Engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from geedocker.store.layout import Layout


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS]"  # docker's usage line
    p.add_argument("-f", "--format", default="", help='a Go template, or "json"')


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _bytes_iec(n: float) -> str:
    """docker's units.BytesSize: binary units, %.4g."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.4g}{unit}"
        n /= 1024
    return f"{n}B"


# docker's graphdriver.FsNames: statfs f_type -> the name ``docker info`` shows as "Backing Filesystem"
FS_NAMES = {
    0x61756673: "aufs", 0x9123683E: "btrfs", 0x28CD3D45: "cramfs", 0xF15F: "ecryptfs", 0xEF53: "extfs",
    0xF2F52010: "f2fs", 0x47504653: "gpfs", 0x72B6: "jffs2", 0x3153464A: "jfs", 0x6969: "nfs",
    0x794C7630: "overlayfs", 0x858458F6: "ramfs", 0x52654973: "reiserfs", 0x517B: "smb", 0x73717368: "squashfs",
    0x01021994: "tmpfs", 0xA501FCF5: "vxfs", 0x58465342: "xfs", 0x2FC12FC1: "zfs",
}  # fmt: skip


def backing_filesystem(path: Path) -> str:
    """The name docker gives the filesystem ``path`` (or, before the store is made, its nearest existing
    parent) is on; ``<unknown>`` for one docker does not name."""
    from geedocker.runtime.syscalls import statfs_type

    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return FS_NAMES.get(statfs_type(path), "<unknown>")
    except OSError:
        return "<unknown>"


def docker_info(layout: Layout) -> dict[str, object]:
    """docker's Info fields (and ClientInfo) that geedocker has."""
    import os

    from geedocker import __version__
    from geedocker.containers.backend import backend_name
    from geedocker.containers.record import Status
    from geedocker.format.struct import Struct
    from geedocker.runtime.cgroups import is_unified

    records = Engine.of(layout).containers.list()
    running = sum(r.state.status == Status.RUNNING for r in records)
    paused = sum(r.state.status.value == "paused" for r in records)
    uname = os.uname()
    fields: dict[str, object] = {
        "ID": "", "Containers": len(records), "ContainersRunning": running, "ContainersPaused": paused,
        "ContainersStopped": len(records) - running - paused, "Images": len(Engine.of(layout).images.records()),
        "Driver": "overlay2", "DriverStatus": [["Backing Filesystem", backing_filesystem(layout.layers)],
                         ["Supports d_type", "true"]],
        "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": "2" if is_unified() else "1",
        "KernelVersion": uname.release, "OperatingSystem": _os_name(), "OSType": "linux",
        "Architecture": uname.machine, "NCPU": os.cpu_count() or 1, "MemTotal": _mem_total(), "Name": uname.nodename,
        "DockerRootDir": str(layout.root), "ServerVersion": __version__, "Runtimes": {
            "geedocker": {"path": "geedocker-runtime"}, "runc": {"path": "runc"}, "crun": {"path": "crun"}},
        "DefaultRuntime": backend_name(), "Debug": False, "Labels": [], "ExperimentalBuild": False,
        "SecurityOptions": ["name=seccomp,profile=default"], "Warnings": None,
    }
    fields["ClientInfo"] = Struct("command.ClientInfo", {"Debug": False, "Version": __version__,
                                                         "Context": "default", "Plugins": []})
    return fields


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.format import docker
    from geedocker.format.execute import Template
    from geedocker.format.nodes import TemplateError
    from geedocker.format.struct import Struct

    i = docker_info(layout_of(args))
    if args.format:
        fmt = "{{json .}}" if args.format == "json" else docker.template_text(args.format)
        try:  # docker prints Go's template error as it is
            print(Template(fmt, docker.FUNCS).execute(Struct("system.dockerInfo", i)))
        except TemplateError as e:
            raise docker.FormatError(str(e)) from e
        return 0
    runtimes = i["Runtimes"]
    assert isinstance(runtimes, dict) and isinstance(i["MemTotal"], int)
    lines = [
        "Client:", f" Version:    {i['ServerVersion']}", " Context:    default", " Debug Mode: false", "",
        "Server:", f" Containers: {i['Containers']}", f"  Running: {i['ContainersRunning']}",
        f"  Paused: {i['ContainersPaused']}", f"  Stopped: {i['ContainersStopped']}", f" Images: {i['Images']}",
        f" Server Version: {i['ServerVersion']}", f" Storage Driver: {i['Driver']}",
        f" Logging Driver: {i['LoggingDriver']}", f" Cgroup Driver: {i['CgroupDriver']}",
        f" Cgroup Version: {i['CgroupVersion']}", f" Runtimes: {' '.join(sorted(runtimes))}",
        f" Default Runtime: {i['DefaultRuntime']}", " Security Options:", "  seccomp", "   Profile: default",
        f" Kernel Version: {i['KernelVersion']}", f" Operating System: {i['OperatingSystem']}",
        f" OSType: {i['OSType']}", f" Architecture: {i['Architecture']}", f" CPUs: {i['NCPU']}",
        f" Total Memory: {_bytes_iec(i['MemTotal'])}", f" Name: {i['Name']}", f" ID: {i['ID']}",
        f" Docker Root Dir: {i['DockerRootDir']}", " Debug Mode: false", " Experimental: false",
        " Insecure Registries:", "  127.0.0.0/8", " Live Restore Enabled: true",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
