"""Containers on the default bridge: address, route, /etc files, and nothing left after rm."""

from __future__ import annotations

import json
import os

import pytest

from geedocker.network.config import NetworkStore
from geedocker.network.leases import ipam_of
from tests.network.conftest import Net, nft_tables

pytestmark = pytest.mark.root


def test_run_gets_address_route_and_hosts_then_cleans_up(net: Net) -> None:
    r = net.run(
        "sh", "-c", "ip -o -4 addr show eth0; ip route; cat /etc/hosts; hostname", flags=("--rm", "--name", "one")
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"inet {net.prefix}.2/24" in out
    assert f"default via {net.prefix}.1 dev eth0" in out
    host = out.strip().splitlines()[-1]
    assert f"{net.prefix}.2\t{host} one" in out.splitlines()
    assert net.leftovers() == []
    assert os.path.exists(f"/sys/class/net/{net.bridge}")
    assert open(f"/proc/sys/net/ipv4/conf/{net.bridge}/route_localnet").read().strip() == "1"
    assert open("/proc/sys/net/ipv4/ip_forward").read().strip() == "1"


def test_detached_container_has_veth_rules_and_netns_until_rm(net: Net) -> None:
    cid = net.detach("sleep", "60", flags=("--name", "sleeper"))
    st = json.loads((net.layout.container_dir(cid) / "network.json").read_text())
    veth = st["endpoints"][0]["host_veth"]
    assert os.path.exists(f"/sys/class/net/{veth}")
    assert open(f"/sys/class/net/{veth}/master/uevent").read().find(f"INTERFACE={net.bridge}") >= 0
    assert (net.layout.netns / cid).exists()
    assert net.table in nft_tables()
    assert net.ip_of("sleeper") == f"{net.prefix}.2"
    net.ok("rm", "-f", "sleeper")
    assert not os.path.exists(f"/sys/class/net/{veth}/master")  # rm returns with the veth off the bridge
    assert net.leftovers() == []  # and the kernel deletes the pair with the namespace


def test_run_rm_in_the_background_cleans_up(net: Net) -> None:
    net.detach("sleep", "0.3", flags=("--rm",))
    net.wait_for("the --rm container to go", lambda: net.ok("ps", "-aq") == "")
    net.wait_for("its network to go", lambda: net.leftovers() == [])


def test_requested_ip(net: Net) -> None:
    cid = net.detach("sleep", "60", flags=("--ip", f"{net.prefix}.77"))
    assert net.ip_of(cid) == f"{net.prefix}.77"
    r = net.run("true", flags=("--rm", "--ip", f"{net.prefix}.77"))  # taken at start (--rm: then removed)
    assert r.returncode == 125 and "already in use" in r.stderr
    r = net.run("true", flags=("--ip", "10.213.254.9"))
    assert r.returncode == 125 and "not in the network's subnet" in r.stderr
    r = net.run("true", flags=("--ip", f"{net.prefix}.1"))
    assert r.returncode == 125 and "gateway" in r.stderr
    assert net.ok("ps", "-aq").split() == [cid[:12]]  # the failed ones left nothing
    net.ok("rm", "-f", cid)
    assert net.leftovers() == []


def test_unknown_network_leaves_nothing(net: Net) -> None:
    r = net.run("true", flags=("--network", "nope"))
    assert r.returncode == 125 and "network nope not found" in r.stderr
    assert net.ok("ps", "-aq") == "" and net.leftovers() == []


def test_fifty_leases_and_ten_containers_unique(net: Net) -> None:
    cfg = NetworkStore(net.layout).default()
    ipam = ipam_of(NetworkStore(net.layout), cfg)
    for n in range(50):  # owners that exist (the engine's garbage collection frees leases of vanished ones)
        net.layout.container_dir(f"{n:064x}").mkdir(parents=True)
    direct = {str(ipam.allocate(f"{n:064x}")) for n in range(50)}
    ids = [net.detach("sleep", "60") for _ in range(10)]  # addresses are taken at start
    real = {net.ip_of(cid) for cid in ids}
    assert len(direct) == 50 and len(real) == 10 and not direct & real
    assert all(
        a.startswith(net.prefix + ".") and a not in (f"{net.prefix}.1", f"{net.prefix}.0") for a in direct | real
    )
    for n in range(50):
        ipam.release(f"{n:064x}")
        net.layout.container_dir(f"{n:064x}").rmdir()
    for cid in ids:
        net.ok("rm", "-f", cid)
    assert net.leftovers() == []


def test_network_of_a_vanished_container_is_collected(net: Net) -> None:
    import shutil

    from geedocker.network.endpoint import start

    cid = net.ok("create", "--rootfs", str(net.rootfs), "true").strip()
    start(net.layout, cid)  # its endpoint, as its monitor makes it at start
    st = json.loads((net.layout.container_dir(cid) / "network.json").read_text())
    veth = st["endpoints"][0]["host_veth"]
    shutil.rmtree(net.layout.container_dir(cid))  # as if the engine died halfway through rm
    assert os.path.exists(f"/sys/class/net/{veth}") and len(net.leases()) == 1
    r = net.run("true", flags=("--rm",))
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(f"/sys/class/net/{veth}/master")  # off the bridge at once...
    net.wait_for(f"{veth} to go", lambda: not os.path.exists(f"/sys/class/net/{veth}"), timeout=3)  # ...then gone
    assert net.leftovers() == []


def test_start_releases_what_a_dead_monitor_left_and_takes_a_new_endpoint(net: Net) -> None:
    from geedocker.network.endpoint import start

    cid = net.ok(
        "create", "--name", "reboot", "--rootfs", str(net.rootfs), "ip", "-o", "-4", "addr", "show", "eth0"
    ).strip()
    start(net.layout, cid)  # an endpoint made for a run whose monitor died before releasing it
    st = json.loads((net.layout.container_dir(cid) / "network.json").read_text())
    assert os.path.exists(f"/sys/class/net/{st['endpoints'][0]['host_veth']}")
    r = net.cli("start", "-a", "reboot")
    assert r.returncode == 0 and "inet " in r.stdout, r.stderr
    assert len(net.leases()) == 0  # released at the exit
    net.ok("rm", "reboot")
    assert net.leftovers() == []


def test_parallel_creates_get_distinct_addresses(net: Net) -> None:
    import subprocess
    import sys

    procs = [
        subprocess.Popen([sys.executable, "-m", "geedocker", "run", "-d", "--rootfs", str(net.rootfs), "sleep", "60"],
                         env=net.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]  # fmt: skip
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids.append(out.strip())
    addrs = [net.ip_of(cid) for cid in ids]
    assert len(set(addrs)) == 6 and len(net.leases()) == 6
    for cid in ids:
        net.ok("rm", "-f", cid)
    assert net.leftovers() == []


def test_a_shared_namespace_loses_its_veth_at_once_when_its_owner_goes(net: Net) -> None:
    cid = net.detach("sleep", "60", flags=("--name", "owner"))
    veth = json.loads((net.layout.container_dir(cid) / "network.json").read_text())["endpoints"][0]["host_veth"]
    net.detach("sleep", "60", flags=("--name", "guest", "--network", "container:owner"))
    net.ok("rm", "-f", "owner")
    # the guest keeps the namespace alive, so the pair would not go with it: deleted now, before the
    # owner's address is freed for another container
    assert not os.path.exists(f"/sys/class/net/{veth}")
    net.ok("rm", "-f", "guest")
    assert net.leftovers() == []
