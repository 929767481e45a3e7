"""containerd (``ctr run --runc-binary``) driving ``geedocker-runtime`` through containerd-shim-runc-v2.

Starts a private containerd (temp root, state and socket; killed by pid at the end) and imports an
image made from the busybox rootfs with podman (no network).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker import launcher

pytestmark = [
    pytest.mark.root,
    pytest.mark.peers,
    pytest.mark.skipif(any(shutil.which(b) is None for b in ("containerd", "ctr", "containerd-shim-runc-v2",
                                                             "podman")),
                       reason="containerd, ctr, its runc shim or podman is not installed"),
]

IMAGE = "localhost/geedocker-ctr:bb"


class Ctr:
    def __init__(self, base: Path, wrapper: Path) -> None:
        self.sock = base / "containerd.sock"
        self.wrapper = wrapper

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ctr", "-a", str(self.sock), *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def ctr(tmp_path_factory: pytest.TempPathFactory, busybox_rootfs: Path) -> Iterator[Ctr]:
    base = tmp_path_factory.mktemp("containerd")
    (wrapper,) = launcher.install(base, python=launcher.preferred_python(),  # as installed
                                names=("geedocker-runtime",))
    # An image archive: podman imports the rootfs and saves it as a docker-archive.
    tar = base / "rootfs.tar"
    subprocess.run(["tar", "-C", str(busybox_rootfs), "-cf", str(tar), "."], check=True)
    pm = ["podman", "--root", str(base / "pstore"), "--runroot", str(base / "prun"), "--events-backend", "file",
          "--tmpdir", str(base / "ptmp")]
    subprocess.run([*pm, "import", str(tar), IMAGE], check=True, capture_output=True)
    subprocess.run([*pm, "save", "--format", "docker-archive", "-o", str(base / "img.tar"), IMAGE], check=True,
                   capture_output=True)
    subprocess.run([*pm, "system", "reset", "-f"], capture_output=True)
    (base / "config.toml").write_text(
        f'version = 2\nroot = "{base}/root"\nstate = "{base}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{base}/containerd.sock"\n[ttrpc]\n  address = "{base}/containerd.sock.ttrpc"\n'
        f'[debug]\n  address = "{base}/debug.sock"\n'
    )
    with open(base / "containerd.log", "w") as log:
        daemon = subprocess.Popen(["containerd", "--config", str(base / "config.toml")], stdout=log, stderr=log)
    c = Ctr(base, wrapper)
    try:
        deadline = time.monotonic() + 30
        while c("version").returncode != 0:
            assert time.monotonic() < deadline, (base / "containerd.log").read_text()[-2000:]
            time.sleep(0.2)
        r = c("image", "import", str(base / "img.tar"))
        assert r.returncode == 0, r.stderr
        yield c
    finally:
        for task in c("task", "ls", "-q").stdout.split():
            c("task", "kill", "-s", "SIGKILL", task)
            c("task", "delete", "-f", task)
        for cont in c("container", "ls", "-q").stdout.split():
            c("container", "delete", cont)
        c("image", "rm", IMAGE)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        subprocess.run(["umount", "-R", str(base / "root")], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_ctr_run_output_and_exit_code(ctr: Ctr) -> None:
    r = ctr("run", "--rm", "--runc-binary", str(ctr.wrapper), IMAGE, "gd-ctr-1", "sh", "-c", "echo hi; exit 4")
    assert (r.returncode, r.stdout) == (4, "hi\n"), r.stderr


def test_ctr_detached_exec_kill_delete(ctr: Ctr) -> None:
    r = ctr("run", "-d", "--runc-binary", str(ctr.wrapper), IMAGE, "gd-ctr-2", "sh", "-c",
            "trap 'exit 0' TERM; sleep 300 & wait")
    assert r.returncode == 0, r.stderr
    try:
        r = ctr("task", "exec", "--exec-id", "e1", "gd-ctr-2", "sh", "-c", "echo in-exec; exit 6")
        assert (r.returncode, r.stdout) == (6, "in-exec\n"), r.stderr
        assert len(ctr("task", "ps", "gd-ctr-2").stdout.splitlines()) >= 3  # header, sh, sleep
        assert ctr("task", "kill", "gd-ctr-2").returncode == 0
        deadline = time.monotonic() + 20
        while "STOPPED" not in ctr("task", "ls").stdout:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert ctr("task", "delete", "gd-ctr-2").returncode == 0
    finally:
        ctr("task", "delete", "-f", "gd-ctr-2")
        ctr("container", "delete", "gd-ctr-2")
