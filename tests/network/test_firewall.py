"""geedocker's nftables table (``network.firewall``): a network's rules live with the network, a container's
published ports with the container."""

from __future__ import annotations

import pytest

from tests.network.conftest import Net

pytestmark = pytest.mark.root


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
