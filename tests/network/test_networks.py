"""``network rm`` (``network.networks``): refused while containers use the network or for a pre-defined one; then
the bridge and the config go."""

from __future__ import annotations

import os

import pytest

from tests.network.conftest import Net

pytestmark = pytest.mark.root


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
