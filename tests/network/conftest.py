"""Fixtures for network tests that need root: a ``net`` engine on its own bridge and subnet.

Each test gets a temp store, a default bridge ``gdtest<k>`` on 10.213.<k>.0/24 (never the real
default network) and its own nftables table (the table name follows the store's root). At teardown
every container and user network is removed and whatever is left (bridge, veths, namespaces, the
table) is deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from geedocker.containers.record import is_alive
from geedocker.containers.store import ContainerStore
from geedocker.network import nft
from geedocker.network.config import NetworkStore
from geedocker.network.interfaces import veth_name
from geedocker.store.layout import Layout
from tests.support.layers import make_busybox_rootfs
from tests.support.netenv import drop_store_leases, store_leases

SRC = str(Path(__file__).resolve().parents[2] / "src")


def links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def nft_tables() -> list[str]:
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.startswith("table ip ")]


def _free_index() -> int:
    for k in range(100, 250):
        if not os.path.exists(f"/sys/class/net/gdtest{k}"):
            return k
    raise RuntimeError("no free gdtest bridge name")


@pytest.fixture(scope="session")
def busybox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = make_busybox_rootfs(tmp_path_factory.mktemp("bb") / "rootfs")
    www = d / "www"
    www.mkdir()
    (www / "index.html").write_text("hello from the container\n")
    return d


class Net:
    """The geedocker CLI against a temp store whose default network is a test bridge."""

    def __init__(self, layout: Layout, rootfs: Path, k: int) -> None:
        self.layout = layout
        self.rootfs = rootfs
        self.k = k
        self.bridge = f"gdtest{k}"
        self.prefix = f"10.213.{k}"
        self.env = dict(os.environ)
        self.env.update(
            PYTHONPATH=SRC + os.pathsep + self.env.get("PYTHONPATH", ""),
            GEEDOCKER_ROOT=str(layout.root),
            GEEDOCKER_RUN=str(layout.run),
            GEEDOCKER_BRIDGE=self.bridge,
            GEEDOCKER_BRIDGE_SUBNET=f"{self.prefix}.0/24",
        )
        self.env.pop("GEEDOCKER_NFT_TABLE", None)
        self.table = nft.table_name(layout)
        self.links_before = links()

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "geedocker", *args], capture_output=True, text=True, env=self.env,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def ok(self, *args: str, timeout: float = 60) -> str:
        r = self.cli(*args, timeout=timeout)
        assert r.returncode == 0, f"geedocker {' '.join(args)} -> {r.returncode}\n{r.stderr}"
        return r.stdout

    def run(self, *args: str, flags: tuple[str, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.cli("run", *flags, "--rootfs", str(self.rootfs), *args, timeout=timeout)

    def detach(self, *args: str, flags: tuple[str, ...] = ()) -> str:
        r = self.run(*args, flags=("-d", *flags))
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def inspect(self, ref: str) -> dict[str, Any]:
        data: list[dict[str, Any]] = json.loads(self.ok("container", "inspect", ref))
        return data[0]

    def ip_of(self, ref: str, network: str = "") -> str:
        ns = self.inspect(ref)["NetworkSettings"]
        return str(ns["Networks"][network]["IPAddress"] if network else ns["IPAddress"])

    def wait_for(self, what: str, cond: Callable[[], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def leases(self) -> list[str]:
        """The addresses this store holds in the host-wide lease tables (one per bridge)."""
        return [a for a, _ in store_leases(self.layout)]

    def leftovers(self) -> list[str]:
        """Network things of this store still on the machine (the default bridge and its rules may stay)."""
        left = [f"lease {a}" for a in self.leases()]
        if self.layout.netns.exists():
            left += [f"netns {p.name}" for p in self.layout.netns.iterdir()]
        # a container's veth pair goes with its namespace, which the kernel tears down in the background
        deadline = time.monotonic() + 3
        while True:
            extra = sorted(n for n in links() - self.links_before if n.startswith("gd") and n != self.bridge)
            if not extra or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        left += [f"link {n}" for n in extra]
        if self.table in nft_tables():  # the networks' own rules may stay, as their bridges do; no container's
            listed = subprocess.run(["nft", "list", "table", "ip", self.table], capture_output=True, text=True,
                                    check=True).stdout
            left += [f"nft rule {line.strip()}" for line in listed.splitlines() if " dnat to " in line]
        return left

    def cleanup(self) -> None:
        store = ContainerStore(self.layout)
        for rec in store.list():
            self.cli("rm", "-f", rec.id)
        for rec in store.list():
            for pid, start in ((rec.state.pid, rec.state.pid_start), (rec.state.monitor_pid, rec.state.monitor_start)):
                if is_alive(pid, start):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, 9)
        nets = NetworkStore(self.layout)
        for name in nets.names():
            if name != "bridge":
                self.cli("network", "rm", name)
        from geedocker.network import netlink

        for cid in store.ids():
            for cfg in nets.configs():
                with contextlib.suppress(Exception):
                    netlink.delete_link(veth_name(cid, cfg.id))
        for cfg in nets.configs():
            with contextlib.suppress(Exception):
                netlink.delete_link(cfg.bridge)
        if self.layout.netns.exists():
            for p in self.layout.netns.iterdir():
                with contextlib.suppress(Exception):
                    netlink.delete_netns(p)
        with contextlib.suppress(Exception):
            nft.delete(self.table)
        drop_store_leases(self.layout)
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if line.split()[4].startswith(str(self.layout.root))]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)


@pytest.fixture
def net(tmp_path: Path, busybox_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Net]:
    layout = Layout(tmp_path / "root", tmp_path / "root" / "run")
    n = Net(layout, busybox_dir, _free_index())
    for key in ("GEEDOCKER_BRIDGE", "GEEDOCKER_BRIDGE_SUBNET"):  # the same default network in-process
        monkeypatch.setenv(key, n.env[key])
    try:
        yield n
    finally:
        n.cleanup()
