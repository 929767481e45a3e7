"""OCI runtime bundles for tests: a busybox rootfs and a base config.json, like crun's test helpers.

``base_config(args)`` is close to what ``runc spec`` and docker generate: new PID, network, IPC, UTS
and mount namespaces, /proc, a tmpfs /dev with devpts, /dev/shm and mqueue, read-only /sys, docker's
default capabilities, masked and read-only /proc paths.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.layers import make_busybox_rootfs

DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
]  # fmt: skip
MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
]  # fmt: skip
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

_BASE: dict[str, Any] = {
    "ociVersion": "1.0.2",
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": ["true"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
        "cwd": "/",
        "capabilities": {k: DEFAULT_CAPS for k in ("bounding", "effective", "permitted")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": False},
    "hostname": "geedocker-test",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    ],
    "linux": {
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        "maskedPaths": MASKED_PATHS,
        "readonlyPaths": READONLY_PATHS,
    },
}


def base_config(args: list[str] | None = None, **process: Any) -> dict[str, Any]:
    """A fresh config dict; ``args`` and any ``process`` keys override the defaults."""
    cfg = copy.deepcopy(_BASE)
    if args is not None:
        cfg["process"]["args"] = args
    cfg["process"].update(process)
    return cfg


_TEMPLATE: dict[str, Path] = {}


def busybox_template(cache_dir: Path) -> Path:
    """One busybox rootfs per session (copied into each bundle)."""
    if "rootfs" not in _TEMPLATE:
        _TEMPLATE["rootfs"] = make_busybox_rootfs(cache_dir / "busybox-rootfs")
    return _TEMPLATE["rootfs"]


def make_bundle(dest: Path, config: dict[str, Any], template: Path) -> Path:
    """``dest`` with ``rootfs/`` (a copy of ``template``) and ``config.json``."""
    dest.mkdir(parents=True, exist_ok=True)
    rootfs = dest / "rootfs"
    if not rootfs.exists():
        subprocess.run(["cp", "-a", str(template), str(rootfs)], check=True)
    write_config(dest, config)
    return dest


def write_config(bundle: Path, config: dict[str, Any]) -> None:
    (bundle / "config.json").write_text(json.dumps(config, indent=1))


def remove_bundle(bundle: Path) -> None:
    shutil.rmtree(bundle, ignore_errors=True)
