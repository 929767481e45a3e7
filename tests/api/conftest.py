"""A running ``geedocker system service`` on a temp store for the client tests, with busybox pulled from the
tests' local registry (tagged ``busybox:latest`` there too), and the docker clients pointed at it; and the HTTP
layer served in-process on an empty store for the tests of the server's own modules (``http_sock``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.containers.record import is_alive
from geedocker.containers.store import ContainerStore
from geedocker.store.layout import Layout
from tests.support.api_http import serving
from tests.support.layers import busybox_rootfs_entries, layer_tar
from tests.support.netenv import TEST_BRIDGE_ENV, remove_store_firewall
from tests.support.registry import TestRegistry, push_test_image, registry_http, registry_tls_material  # noqa: F401

SRC = str(Path(__file__).resolve().parents[2] / "src")
CLIS = {"20.10": "/usr/bin/docker", "28": "/usr/local/bin/docker"}


class Service:
    def __init__(self, root: Path, registry: TestRegistry) -> None:
        self.layout = Layout(root / "store", root / "run")
        self.sock = root / "docker.sock"
        self.registry = registry
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = SRC + os.pathsep + self.env.get("PYTHONPATH", "")
        self.env["GEEDOCKER_ROOT"] = str(self.layout.root)
        self.env["GEEDOCKER_RUN"] = str(self.layout.run)
        self.env.update(TEST_BRIDGE_ENV)  # never the machine's default geedocker0
        self.env["DOCKER_HOST"] = f"unix://{self.sock}"
        self.env["DOCKER_CONFIG"] = str(root / "docker-config")  # the clients' own config, not the host's
        self.env.pop("DOCKER_API_VERSION", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "geedocker", "system", "service", "--time", "0", f"unix://{self.sock}"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the service did not start: {self.proc.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def geedocker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "geedocker", *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip

    def docker(self, cli: str, *args: str, input: str | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return subprocess.run([CLIS[cli], *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)  # fmt: skip

    def cleanup(self) -> None:
        store = ContainerStore(self.layout)
        for rec in store.list():
            self.geedocker("rm", "-f", rec.id)
        for rec in store.list():  # what rm could not remove: kill by pid (ours only)
            for pid, start in ((rec.state.pid, rec.state.pid_start), (rec.state.monitor_pid, rec.state.monitor_start)):
                if is_alive(pid, start):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, 9)
        for name in self.geedocker("network", "ls").stdout.split("\n")[1:]:
            parts = name.split()
            if len(parts) > 1 and parts[1] not in ("bridge", "host", "none"):
                self.geedocker("network", "rm", parts[1])
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if line.split()[4].startswith(str(self.layout.root))]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)
        remove_store_firewall(self.layout.root)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, registry_http: TestRegistry) -> Iterator[Service]:  # noqa: F811
    svc = Service(tmp_path_factory.mktemp("api"), registry_http)
    push_test_image(registry_http, "api/busybox", "1", [layer_tar(busybox_rootfs_entries())],
                    config_overrides={"config": {"Cmd": ["sh"]}})  # fmt: skip
    r = svc.geedocker("pull", f"{registry_http.host}/api/busybox:1")
    assert r.returncode == 0, r.stderr
    assert svc.geedocker("tag", f"{registry_http.host}/api/busybox:1", "busybox:latest").returncode == 0
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()
        svc.cleanup()


@pytest.fixture
def http_sock(tmp_path: Path) -> Iterator[str]:
    """The HTTP layer served in-process on an empty store (``tests.support.api_http``): its socket's path."""
    with serving(tmp_path) as path:
        yield path
