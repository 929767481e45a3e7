"""The host-wide lease table of a network's bridge as a store sees it (``ipam_of``: its live addresses checked, an
older store's leases adopted), and the namespace file of a container (``netns_path``), which tells a lease's owner
apart from a stale one. Apart from the endpoint modules: every one of them takes or frees leases."""

from __future__ import annotations

import os
from pathlib import Path

from geedocker.errors import NetworkError
from geedocker.logger import get_logger
from geedocker.network.config import NetworkConfig, NetworkStore
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import ipaddress

    from geedocker.network.ipam import Ipam

log = get_logger(__name__)


def ipam_of(store: NetworkStore, cfg: NetworkConfig) -> Ipam:
    """The host-wide lease table of ``cfg``'s bridge, as this store sees it (``network.ipam``)."""
    from geedocker.network.ipam import Ipam  # bridge networks only

    layout = store.layout

    def live() -> set[ipaddress.IPv4Address]:
        from geedocker.network import netlink

        try:
            return netlink.live_addresses(cfg.bridge)
        except NetworkError as e:  # the lease table alone still keeps geedocker's containers apart
            log.warning("listing the addresses in use on bridge %s: %s", cfg.bridge, e)
            return set()

    ipam = Ipam(store.leases_path(cfg), cfg.subnet, cfg.gateway, store=str(layout.root), network=cfg.name,
                live=live)  # fmt: skip
    legacy = store.legacy_leases_path(cfg.name)
    if os.path.exists(legacy):  # leases an older geedocker kept in the store: the host-wide table takes them
        ipam.adopt(legacy, lambda owner: (str(netns_path(layout, owner)), str(layout.container_dir(owner))))
    return ipam


def netns_path(layout: Layout, cid: str) -> Path:
    return layout.netns / cid
