"""The default network of the engine and integration tests' containers: a test bridge, not geedocker0."""

from __future__ import annotations

import contextlib
import os

TEST_BRIDGE_ENV = {"GEEDOCKER_BRIDGE": "gdeng0", "GEEDOCKER_BRIDGE_SUBNET": "10.214.0.0/24"}


def remove_test_bridge() -> None:
    if os.geteuid() != 0:
        return
    from geedocker.network import netlink

    with contextlib.suppress(Exception):
        netlink.delete_link(TEST_BRIDGE_ENV["GEEDOCKER_BRIDGE"])
