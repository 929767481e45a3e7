"""The default network of the engine and integration tests' containers: a test bridge, not geedocker0."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TEST_BRIDGE_ENV = {"GEEDOCKER_BRIDGE": "gdeng0", "GEEDOCKER_BRIDGE_SUBNET": "10.214.0.0/24"}


def remove_store_firewall(root: Path) -> None:
    """Delete the nftables table of the store at ``root``: a bridge network's rules outlive its containers."""
    if os.geteuid() != 0:
        return
    from geedocker.network import nft
    from geedocker.store.layout import Layout

    with contextlib.suppress(Exception):
        nft.delete(nft.table_name(Layout(root, root / "run")))


def remove_test_bridge() -> None:
    if os.geteuid() != 0:
        return
    from geedocker.network import netlink

    with contextlib.suppress(Exception):
        netlink.delete_link(TEST_BRIDGE_ENV["GEEDOCKER_BRIDGE"])
