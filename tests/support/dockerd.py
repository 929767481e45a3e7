"""Debian's dockerd (docker.io, 20.10) as a reference engine, on its own socket, data root, exec root and pid file.

It runs with ``--bridge=none --iptables=false`` (no host networking state is touched), starts its own containerd
under the exec root, and is stopped by its pid. Images reach it from the local test registry (127.0.0.0/8 is an
insecure registry for dockerd by default, so plain HTTP works).

    with running_dockerd() as d:      # or the session fixture ``dockerd`` (import it into a conftest.py)
        subprocess.run([*d.cmd, "pull", "127.0.0.1:5000/x:1"], check=True)

``d.cmd`` is Debian's docker CLI (``/usr/bin/docker``, the daemon's own version) pointed at the socket.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOCKERD = Path("/usr/sbin/dockerd")
DOCKER_CLI = Path("/usr/bin/docker")  # Debian's CLI, the daemon's version (/usr/local/bin/docker is a newer one)
READY_TIMEOUT = 60.0


@dataclass
class Dockerd:
    root: Path
    pid: int
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def socket(self) -> Path:
        return self.root / "d.sock"

    @property
    def cmd(self) -> list[str]:
        return [str(DOCKER_CLI), "-H", f"unix://{self.socket}"]

    def log_text(self) -> str:
        p = self.root / "dockerd.log"
        return p.read_text(errors="replace")[-4000:] if p.exists() else ""

    def stop(self) -> None:
        """Remove its containers, stop it by pid (it stops its containerd), unmount and remove its dirs."""
        if self.proc is not None and self.proc.poll() is None:
            ids = subprocess.run([*self.cmd, "ps", "-aq"], capture_output=True, text=True, timeout=60).stdout.split()
            if ids:
                subprocess.run([*self.cmd, "rm", "-f", *ids], capture_output=True, timeout=300)
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        _unmount_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def _unmount_under(path: Path) -> None:
    prefix = str(path).rstrip("/")
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for p in sorted({p for p in points if p == prefix or p.startswith(prefix + "/")}, key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True)


def start_dockerd() -> Dockerd:
    """Start a private dockerd; the caller must ``stop()`` it. Skips the test when dockerd is missing."""
    if not DOCKERD.exists() or not DOCKER_CLI.exists() or os.geteuid() != 0:
        pytest.skip("dockerd (Debian package docker.io) and root are needed")
    # short paths: containerd's sockets live under the exec root and a unix socket path has 108 bytes at most
    root = Path(tempfile.mkdtemp(prefix="gdd-", dir="/tmp"))
    d = Dockerd(root, pid=0)
    log = open(root / "dockerd.log", "wb")
    try:
        d.proc = subprocess.Popen(
            [str(DOCKERD), "--host", f"unix://{d.socket}", "--data-root", str(root / "data"),
             "--exec-root", str(root / "exec"), "--pidfile", str(root / "d.pid"), "--bridge=none",
             "--iptables=false", "--ip6tables=false"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        d.pid = d.proc.pid
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if d.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with {d.proc.returncode}:\n{d.log_text()}")
            if d.socket.exists() and subprocess.run([*d.cmd, "version"], capture_output=True,
                                                    timeout=30).returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockerd not ready after {READY_TIMEOUT}s:\n{d.log_text()}")
            time.sleep(0.2)
    except BaseException:
        d.stop()
        raise
    finally:
        log.close()
    return d


@contextmanager
def running_dockerd() -> Iterator[Dockerd]:
    d = start_dockerd()
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Dockerd]:
    with running_dockerd() as d:
        yield d
