"""User networks: containers reach each other by name and alias (also ones started later), connect and
disconnect, isolation from other networks, network rm refused while in use."""

from __future__ import annotations

import json
import os

import pytest

from tests.network.conftest import Net

pytestmark = pytest.mark.root

SERVER = "while true; do echo pong-$(hostname) | nc -l -p 7000; done"


def talk(net: Net, network: str, target: str, name: str = "") -> str:
    flags = ("--rm", "--network", network) + (("--name", name) if name else ())
    r = net.run("sh", "-c", f"echo hi | nc -w 3 {target} 7000", flags=flags)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_containers_talk_by_name_and_alias(net: Net) -> None:
    net.ok("network", "create", "--subnet", f"10.213.{net.k + 100}.0/24", "gdapp")
    net.detach(
        "sh", "-c", SERVER, flags=("--network", "gdapp", "--name", "srv", "--network-alias", "db", "-h", "srvhost")
    )
    assert talk(net, "gdapp", "srv") == "pong-srvhost"
    assert talk(net, "gdapp", "db") == "pong-srvhost"
    srv_id = net.inspect("srv")["Id"]
    assert talk(net, "gdapp", srv_id[:12]) == "pong-srvhost"
    # a container that joins later is seen by the one already running
    net.detach("sh", "-c", SERVER, flags=("--network", "gdapp", "--name", "late", "-h", "latehost"))
    r = net.cli("exec", "srv", "sh", "-c", "echo hi | nc -w 3 late 7000")
    assert r.stdout.strip() == "pong-latehost", r.stderr
    net.ok("rm", "-f", "late")
    hosts = net.cli("exec", "srv", "cat", "/etc/hosts").stdout
    assert "late" not in hosts and "srvhost srv" in hosts
    insp = json.loads(net.ok("network", "inspect", "gdapp"))[0]
    assert [c["Name"] for c in insp["Containers"].values()] == ["srv"]
    assert insp["IPAM"]["Config"] == [{"Subnet": f"10.213.{net.k + 100}.0/24", "Gateway": f"10.213.{net.k + 100}.1"}]


def test_default_bridge_has_no_names_and_networks_are_isolated(net: Net) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
    net.ok("network", "create", "--subnet", f"10.213.{net.k + 100}.0/24", "gdone")
    net.ok("network", "create", "--subnet", f"10.213.{net.k + 101}.0/24", "gdtwo")
    net.detach("sh", "-c", SERVER, flags=("--network", "gdone", "--name", "a1", "-h", "a1"))
    ip = net.ip_of("a1", "gdone")
    assert talk(net, "gdone", ip) == "pong-a1"
    r = net.run("sh", "-c", f"echo hi | nc -w 2 {ip} 7000", flags=("--rm", "--network", "gdtwo"))
    assert "pong" not in r.stdout  # dropped between bridges
    net.detach("sh", "-c", SERVER, flags=("--name", "b1", "-h", "b1", "-p", f"{port}:7000"))
    r = net.run("sh", "-c", "echo hi | nc -w 2 b1 7000", flags=("--rm",))
    assert "pong" not in r.stdout  # no names on the default bridge, as docker
    r = net.run("sh", "-c", f"echo hi | nc -w 3 {net.prefix}.1 {port}", flags=("--rm", "--network", "gdtwo"))
    assert r.stdout.strip() == "pong-b1", r.stderr  # a published port is reachable from another network


def test_connect_and_disconnect(net: Net) -> None:
    net.ok("network", "create", "--subnet", f"10.213.{net.k + 100}.0/24", "gdback")
    net.detach("sh", "-c", SERVER, flags=("--network", "gdback", "--name", "api", "-h", "apihost"))
    cid = net.detach("sleep", "60", flags=("--name", "front"))
    net.ok("network", "connect", "--alias", "fe", "gdback", "front")
    addrs = net.cli("exec", "front", "ip", "-o", "-4", "addr").stdout
    assert f"inet {net.prefix}.2/24" in addrs and f"inet 10.213.{net.k + 100}." in addrs and "eth1" in addrs
    r = net.cli("exec", "front", "sh", "-c", "echo hi | nc -w 3 api 7000")
    assert r.stdout.strip() == "pong-apihost", r.stderr
    assert "fe" in net.cli("exec", "api", "cat", "/etc/hosts").stdout
    nets = net.inspect("front")["NetworkSettings"]["Networks"]
    assert set(nets) == {"bridge", "gdback"} and nets["gdback"]["Aliases"] == ["fe"]
    r = net.cli("network", "connect", "gdback", "front")
    assert r.returncode == 125 and "already exists" in r.stderr
    veth = json.loads((net.layout.container_dir(cid) / "network.json").read_text())["endpoints"][1]["host_veth"]
    assert os.path.exists(f"/sys/class/net/{veth}")
    net.ok("network", "disconnect", "gdback", "front")
    assert not os.path.exists(f"/sys/class/net/{veth}")
    assert "eth1" not in net.cli("exec", "front", "ip", "-o", "link").stdout
    assert "front" not in net.cli("exec", "api", "cat", "/etc/hosts").stdout
    r = net.cli("network", "disconnect", "gdback", "front")
    assert r.returncode == 125 and "is not connected" in r.stderr


def test_network_rm_refused_while_used_then_removes_the_bridge(net: Net) -> None:
    nid = net.ok("network", "create", "--subnet", f"10.213.{net.k + 100}.0/24", "gdtmp").strip()
    net.detach("sleep", "60", flags=("--network", "gdtmp", "--name", "user1"))
    bridge = f"gd-{nid[:12]}"
    assert os.path.exists(f"/sys/class/net/{bridge}")
    r = net.cli("network", "rm", "gdtmp")
    assert r.returncode == 1 and "has active endpoints" in r.stderr
    assert "gdtmp" in net.ok("network", "ls")
    net.ok("rm", "-f", "user1")
    assert net.ok("network", "rm", "gdtmp").strip() == "gdtmp"
    assert not os.path.exists(f"/sys/class/net/{bridge}")
    assert "gdtmp" not in net.ok("network", "ls")
    assert sorted(p.name for p in net.layout.networks.iterdir() if p.name.startswith("gdtmp")) == []
    r = net.cli("network", "rm", "bridge")
    assert r.returncode == 1 and "pre-defined" in r.stderr
    r = net.cli("network", "inspect", "gdtmp")
    assert r.returncode == 1 and "not found" in r.stderr
    assert net.leftovers() == []


def test_network_rules_live_with_the_network_container_rules_with_the_container(net: Net) -> None:
    import subprocess

    def table() -> str:
        r = subprocess.run(["nft", "list", "table", "ip", net.table], capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else ""

    subnet = f"10.213.{net.k + 110}.0/24"
    net.ok("network", "create", "--subnet", subnet, "gdrules")
    net.detach("sleep", "60", flags=("--network", "gdrules", "--name", "ruled", "-p", "127.0.0.1::80"))
    assert f"ip saddr {subnet}" in table() and " dnat to " in table()
    net.ok("rm", "-f", "ruled")
    assert f"ip saddr {subnet}" in table()  # the network's masquerade stays with the network...
    assert " dnat to " not in table()  # ...the container's published port goes with it
    net.ok("network", "rm", "gdrules")
    assert f"ip saddr {subnet}" not in table()
    assert net.leftovers() == []
