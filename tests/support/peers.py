"""The peers we compare against (podman, skopeo, umoci, runc), set up with throwaway storage."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.cleanup import unmount_under

# podman on this machine needs raised ulimits for `run` (no CAP_SYS_RESOURCE to go past the defaults)
PODMAN_RUN_FLAGS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]


@contextmanager
def podman_cmd(storage: Path | None = None) -> Iterator[list[str]]:
    """A podman command line with its own storage (vfs) and a short runroot (podman caps it at 50 chars).

    Everything podman stored is removed afterwards.
    """
    exe = shutil.which("podman")
    if exe is None:
        raise RuntimeError("podman is not installed")
    own = storage is None
    root = Path(tempfile.mkdtemp(prefix="gdpod-", dir="/var/tmp")) if storage is None else storage
    run = Path(tempfile.mkdtemp(prefix="gdpr-", dir="/tmp"))
    cmd = [exe, "--root", str(root / "storage"), "--runroot", str(run), "--storage-driver", "vfs",
           "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    if shutil.which("runc"):
        # crun refuses this machine's hybrid cgroup layout ("cgroups in hybrid mode not supported")
        cmd += ["--runtime", shutil.which("runc") or "runc"]
    try:
        yield cmd
    finally:
        subprocess.run([*cmd, "rm", "-a", "-f"], capture_output=True, timeout=120)
        subprocess.run([*cmd, "rmi", "-a", "-f"], capture_output=True, timeout=120)
        unmount_under(root / "storage")
        shutil.rmtree(run, ignore_errors=True)
        if own:
            shutil.rmtree(root, ignore_errors=True)
