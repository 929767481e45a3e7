"""``network connect`` and ``disconnect`` (``network.connect``): a running container's interface at once (with
its names in the others' /etc/hosts), a stopped one's at its next start."""

from __future__ import annotations

import json
import os

import pytest

from tests.network.conftest import Net

pytestmark = pytest.mark.root

SERVER = "while true; do echo pong-$(hostname) | nc -l -p 7000; done"


def test_connect_while_stopped_takes_effect_at_start(net: Net) -> None:
    net.ok("network", "create", "side")
    net.detach("sleep", "60", flags=("--name", "c1"))
    net.ok("stop", "-t", "0", "c1")
    net.ok("network", "connect", "--alias", "sidekick", "side", "c1")
    nets = net.inspect("c1")["NetworkSettings"]["Networks"]
    assert set(nets) == {"bridge", "side"} and nets["side"]["IPAddress"] == ""
    net.ok("start", "c1")
    r = net.cli("exec", "c1", "ip", "-o", "-4", "addr", "show", "eth1")
    assert net.ip_of("c1", "side") + "/" in r.stdout, r.stderr
    net.ok("stop", "-t", "0", "c1")
    net.ok("network", "disconnect", "side", "c1")
    assert set(net.inspect("c1")["NetworkSettings"]["Networks"]) == {"bridge"}
    net.ok("rm", "c1")
    net.ok("network", "rm", "side")
    assert net.leftovers() == []


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
