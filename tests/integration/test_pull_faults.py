"""Pull through a fault-injecting proxy in front of the real registry: retries, resume, verification."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.errors import VerificationError
from geedocker.images.pull import pull
from geedocker.registry import RegistryClient, RegistryConfig, StaticCredentials
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageStore
from geedocker.store.layout import Layout
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.layers import file, gzip_bytes, layer_tar
from tests.support.registry import PushedImage, TestRegistry, push_test_image

pytestmark = pytest.mark.registry


@pytest.fixture
def proxy(registry_http: TestRegistry) -> Iterator[FaultProxy]:
    p = FaultProxy(registry_http.host).start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def image(registry_http: TestRegistry) -> PushedImage:
    payload = os.urandom(3 << 20)  # incompressible: the blob is about 3 MB
    return push_test_image(registry_http, "faults/app", "1",
                           [gzip_bytes(layer_tar([file("data", payload)])), gzip_bytes(layer_tar([file("b", "b")]))])


def client(proxy: FaultProxy) -> RegistryClient:
    cfg = RegistryConfig(credentials=StaticCredentials({}), retry_base_delay=0.01, max_retry_after=2)
    return RegistryClient(proxy.host, config=cfg)


def blob_gets(proxy: FaultProxy) -> list[tuple[str, str, str, str]]:
    return [e for e in proxy.log if e[0] == "GET" and "/blobs/" in e[1]]


@pytest.mark.parametrize(
    "fault",
    [Fault.status(500, times=2), Fault.status(503), Fault.too_many("1"), Fault.reset(100_000, times=2),
     Fault.ignore_range()],
    ids=["500", "503", "429", "reset", "ignore-range"],
)
def test_transient_faults_are_survived(layout: Layout, proxy: FaultProxy, image: PushedImage, fault: Fault) -> None:
    proxy.add(fault)
    res = pull(layout, f"{proxy.host}/faults/app:1", client=client(proxy))
    assert res.record.id == image.config_digest
    for d in image.layers:
        assert BlobStore(layout).has(d.digest)
    assert any(e[3] for e in proxy.log), "the fault fired"


def test_reset_resumes_with_range(layout: Layout, proxy: FaultProxy, image: PushedImage) -> None:
    big = str(image.layers[0].digest)
    proxy.add(Fault.reset(500_000, path=big))
    pull(layout, f"{proxy.host}/faults/app:1", client=client(proxy))
    ranges = [e[2] for e in blob_gets(proxy) if big in e[1] and e[2]]
    assert ranges and ranges[0].startswith("bytes=") and not ranges[0].startswith("bytes=0-"), proxy.log


def test_corrupted_bytes_are_rejected(layout: Layout, proxy: FaultProxy, image: PushedImage) -> None:
    big = str(image.layers[0].digest)
    proxy.add(Fault.corrupt(1_000_000, path=big, times=50))
    with pytest.raises(VerificationError):
        pull(layout, f"{proxy.host}/faults/app:1", client=client(proxy))
    assert not BlobStore(layout).has(image.layers[0].digest)
    assert not ImageStore(layout).exists(f"{proxy.host}/faults/app:1")
    assert not any(p.name.startswith(".") or p.name.startswith("tmp") for p in layout.layers.iterdir())


def test_kill_9_mid_pull_then_resume(proxy: FaultProxy, image: PushedImage, tmp_path: Path) -> None:
    big = image.layers[0]
    # every GET of the big blob breaks after 200 kB: the pull keeps retrying with backoff
    proxy.add(Fault.reset(200_000, path=str(big.digest), times=1000))
    env = {**os.environ, "GEEDOCKER_ROOT": str(tmp_path / "root"), "GEEDOCKER_RUN": str(tmp_path / "run"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    data = tmp_path / "root" / "ingest" / f"sha256-{big.digest.hex}" / "data"
    proc = subprocess.Popen([sys.executable, "-m", "geedocker", "pull", "-q", f"{proxy.host}/faults/app:1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (data.exists() and data.stat().st_size > 0):
            time.sleep(0.02)
        assert data.exists() and data.stat().st_size > 0, "the download started"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    partial = data.stat().st_size
    assert 0 < partial < big.size
    proxy.clear()
    layout = Layout(tmp_path / "root", tmp_path / "run")
    res = pull(layout, f"{proxy.host}/faults/app:1", client=client(proxy))
    assert res.record.id == image.config_digest
    first = [e for e in blob_gets(proxy) if str(big.digest) in e[1]][0]
    assert first[2] == f"bytes={partial}-"
    assert BlobStore(layout).has(big.digest)
    assert list(layout.ingest.iterdir()) == []


def test_ctrl_c_mid_pull_exits_130_and_the_next_pull_resumes(
    proxy: FaultProxy, image: PushedImage, tmp_path: Path
) -> None:
    big = image.layers[0]
    # the blob stops after 1.5 MB (past the 1 MiB reads between the socket and the disk) and the proxy holds
    # the connection: the pull is busy, with bytes on disk, when the signal comes (resets could exhaust the
    # resumes first), and Ctrl-C must not wait for the silent registry
    proxy.add(Fault.stall(1_500_000, path=str(big.digest)))
    env = {**os.environ, "GEEDOCKER_ROOT": str(tmp_path / "root"), "GEEDOCKER_RUN": str(tmp_path / "run"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    data = tmp_path / "root" / "ingest" / f"sha256-{big.digest.hex}" / "data"
    # SIGINT as a terminal gives it: a suite started in the background (``cmd &`` in a script) has it ignored,
    # and an ignored SIGINT is inherited (Python then installs no handler: the pull would go on)
    proc = subprocess.Popen([sys.executable, "-m", "geedocker", "pull", "-q", f"{proxy.host}/faults/app:1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (data.exists() and data.stat().st_size > 0):
            time.sleep(0.02)
        assert data.exists() and data.stat().st_size > 0, "the download started"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err or "cancelled" in err
    assert data.exists() and data.stat().st_size > 0  # the partial download is kept for the next pull
    proxy.clear()
    layout = Layout(tmp_path / "root", tmp_path / "run")
    res = pull(layout, f"{proxy.host}/faults/app:1", client=client(proxy))
    assert res.record.id == image.config_digest
    first = [e for e in blob_gets(proxy) if str(big.digest) in e[1]][0]
    assert first[2].startswith("bytes=") and first[2] != "bytes=0-"
    assert list(layout.ingest.iterdir()) == []
