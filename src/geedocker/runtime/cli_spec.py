"""``geedocker-runtime features`` and ``spec``: what this runtime supports, and a base ``config.json`` for it
(runc's defaults). Commands about the runtime, not about a container.

Apart from ``cli`` (main and the dispatch, which imports this for those commands): ``features`` loads the
modules whose tables it reports, and ``geedocker-runtime run`` needs neither.
"""

from __future__ import annotations

import json

from geedocker.runtime.cli_parser import SPEC_VERSION, VERSION, usage

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any


def features() -> dict[str, Any]:
    from geedocker.runtime import capabilities, namespaces, rootfs, seccomp

    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": sorted(set(rootfs.FLAG_OPTIONS) | set(rootfs.PROPAGATION)),
        "linux": {
            "namespaces": sorted(namespaces.FLAGS),
            "capabilities": list(capabilities.NAMES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {"enabled": seccomp.available(), "actions": sorted(seccomp.ACTIONS),
                        "operators": sorted(seccomp.OPS)},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
        },
        "annotations": {"org.opencontainers.runtime-spec.features.name": "geedocker-runtime",
                        "io.geedocker.runtime.version": VERSION},
    }


def spec(bundle: Path) -> int:
    path = bundle / "config.json"
    if path.exists():
        raise usage(f"{path} already exists")
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    cfg = {
        "ociVersion": SPEC_VERSION,
        "process": {
            "terminal": True, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/", "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "geedocker",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                            "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    path.write_text(json.dumps(cfg, indent=2) + "\n")
    return 0
