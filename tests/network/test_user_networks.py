"""User networks: containers reach each other by name and alias (also ones started later: ``network.hostsfiles``),
isolation from other networks, no names on the default bridge. Connecting: test_connect.py; network rm:
test_networks.py; the firewall's rules: test_firewall.py."""

from __future__ import annotations

import json

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
