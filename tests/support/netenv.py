"""The default network of the engine and integration tests' containers: a test bridge, not geedocker0."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geedocker.store.layout import Layout

TEST_BRIDGE_ENV = {"GEEDOCKER_BRIDGE": "gdeng0", "GEEDOCKER_BRIDGE_SUBNET": "10.214.0.0/24"}


def remove_store_firewall(root: Path) -> None:
    """Delete the nftables table of the store at ``root``: a bridge network's rules outlive its containers."""
    if os.geteuid() != 0:
        return
    from geedocker.network import nft
    from geedocker.store.layout import Layout

    with contextlib.suppress(Exception):
        nft.delete(nft.table_name(Layout(root, root / "run")))


def store_leases(layout: Layout) -> list[tuple[str, str]]:
    """(address, container id) of every lease the store at ``layout`` holds in the host-wide tables."""
    from geedocker.network import ipam

    out = []
    for path in ipam.tables(layout.host_network):
        with contextlib.suppress(FileNotFoundError):
            leases = json.loads(path.read_text()).get("leases", {})
            out += [(a, str(v["owner"])) for a, v in leases.items() if v.get("store") == str(layout.root)]
    return out


def drop_store_leases(layout: Layout) -> None:
    """Free every lease of the store at ``layout`` in the host-wide tables (a test's cleanup, also after a failure)."""
    import ipaddress

    from geedocker.network import ipam

    for path in ipam.tables(layout.host_network):
        table = ipam.Ipam(path, ipaddress.IPv4Network("0.0.0.0/0"), ipaddress.IPv4Address(0), store=str(layout.root))
        for lease in table.leases():
            table.release(lease.owner)


def remove_test_bridge() -> None:
    if os.geteuid() != 0:
        return
    from geedocker.network import netlink

    with contextlib.suppress(Exception):
        netlink.delete_link(TEST_BRIDGE_ENV["GEEDOCKER_BRIDGE"])
