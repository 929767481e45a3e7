"""Two stores (two --roots, each with its own run root) on one bridge: one address space, through the host-wide
lease table of the bridge (``network.ipam``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.containers.record import is_alive
from geedocker.containers.store import ContainerStore
from geedocker.network import netlink
from geedocker.store.layout import Layout
from tests.network.conftest import Net

pytestmark = pytest.mark.root


@pytest.fixture
def other(net: Net, tmp_path: Path, busybox_dir: Path) -> Iterator[Net]:
    """A second store on ``net``'s bridge and subnet, with its own root and run root."""
    n = Net(Layout(tmp_path / "other", tmp_path / "other" / "run"), busybox_dir, net.k)
    assert n.env["GEEDOCKER_HOST_RUN"] == net.env["GEEDOCKER_HOST_RUN"]  # the host's, shared
    try:
        yield n
    finally:
        n.cleanup()


def test_concurrent_containers_of_two_stores_get_distinct_addresses_and_macs(net: Net, other: Net) -> None:
    procs = [
        (store, subprocess.Popen([sys.executable, "-m", "geedocker", "run", "-d", "--rootfs", str(store.rootfs),
                                  "sleep", "60"], env=store.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True))  # fmt: skip
        for _ in range(4) for store in (net, other)
    ]
    started = []
    for store, p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        started.append((store, out.strip()))
    seen = [store.inspect(cid)["NetworkSettings"] for store, cid in started]
    addrs = [s["IPAddress"] for s in seen]
    macs = [s["MacAddress"] for s in seen]
    assert len(set(addrs)) == 8 and len(set(macs)) == 8, addrs
    assert all(a.startswith(net.prefix + ".") for a in addrs)
    assert len(net.leases()) == 4 and len(other.leases()) == 4
    for store, cid in started:
        store.ok("rm", "-f", cid)
    assert net.leftovers() == [] and other.leftovers() == []
    assert not list(ipam_tables(net))  # the bridge's table went with its last lease


def ipam_tables(n: Net) -> list[Path]:
    from geedocker.network import ipam

    return ipam.tables(n.layout.host_network)


def test_network_create_in_two_stores_picks_different_subnets(net: Net, other: Net) -> None:
    net.ok("network", "create", "web")
    other.ok("network", "create", "web")
    subnets = [store.ok("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "web").strip()
               for store in (net, other)]  # fmt: skip
    assert subnets[0] != subnets[1], subnets
    r = other.cli("network", "create", "--subnet", subnets[0], "clash")
    assert r.returncode != 0 and f"overlaps with {subnets[0]}" in r.stderr


def test_a_removed_stores_lease_is_reclaimed(net: Net, other: Net) -> None:
    addr = f"{net.prefix}.77"
    cid = other.detach("sleep", "60", flags=("--ip", addr))
    r = net.run("true", flags=("--rm", "--ip", addr))
    assert r.returncode == 125 and f"address {addr} is already in use" in r.stderr and "of the store at" in r.stderr
    # the other store goes without rm: its processes die, its namespace is unmounted, its root moves away
    rec = ContainerStore(other.layout).load(cid)
    for pid, start in ((rec.state.monitor_pid, rec.state.monitor_start), (rec.state.pid, rec.state.pid_start)):
        if is_alive(pid, start):
            os.kill(pid, signal.SIGKILL)
    net.wait_for("the other store's container to die", lambda: not is_alive(rec.state.pid, rec.state.pid_start))
    netlink.delete_netns(other.layout.netns / cid)
    moved = other.layout.root.with_name("moved")
    os.rename(other.layout.root, moved)
    try:
        check = net.cli("system", "check")
        assert check.returncode == 1 and f"lease {addr} " in check.stdout and "its container is gone" in check.stdout
        r = net.run("ip", "-o", "-4", "addr", "show", "eth0", flags=("--rm", "--ip", addr))
        assert r.returncode == 0 and f"inet {addr}/24" in r.stdout, r.stderr
        assert f"lease {addr} " not in net.cli("system", "check").stdout  # reclaimed by that run
    finally:
        with contextlib.suppress(OSError):
            os.rename(moved, other.layout.root)  # back, for its cleanup (cgroups, mounts)
    other.ok("rm", "-f", cid)
    assert net.leftovers() == [] and other.leftovers() == []


def test_automatic_choice_skips_an_address_live_on_the_bridge(net: Net) -> None:
    first = net.detach("sleep", "60")
    assert net.ip_of(first) == f"{net.prefix}.2"
    busy = f"{net.prefix}.3"  # something outside geedocker answers for .3 on the bridge
    subprocess.run(["ip", "neigh", "replace", busy, "lladdr", "02:00:00:00:00:03", "dev", net.bridge, "nud",
                    "permanent"], check=True)  # fmt: skip
    try:
        assert busy in {str(a) for a in netlink.live_addresses(net.bridge)}
        second = net.detach("sleep", "60")
        assert net.ip_of(second) == f"{net.prefix}.4"
    finally:
        subprocess.run(["ip", "neigh", "del", busy, "dev", net.bridge], check=False)
    for cid in (first, second):
        net.ok("rm", "-f", cid)
    assert net.leftovers() == []
