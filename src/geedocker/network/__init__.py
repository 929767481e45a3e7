"""Container networking: bridge networks, veths, IPAM, NAT and published ports, /etc/hosts and resolv.conf.

The engine calls these (each imports its module lazily, so ``--network host`` stays light)::

    prepared = network.setup(layout, rec)      # while writing the bundle: netns, veth, address, ports
    spec = prepared.apply(spec)                # config.json joins the container's network namespace
    network.release(layout, cid)               # on rm (also --rm): veths, leases, rules, netns
    network.describe(layout, cid) -> dict      # inspect's NetworkSettings
    network.ports_text(layout, cid) -> str     # ps's PORTS column

Modules: options (flags), config (networks on disk), ipam (leases), etcfiles (hosts, resolv.conf),
nft (geedocker's nftables table), netlink (pyroute2: bridges, veths, namespaces), endpoint
(setup/release/connect/disconnect), report (inspect/ps).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geedocker.containers.store import ContainerRecord
    from geedocker.network.endpoint import Prepared
    from geedocker.store.layout import Layout


def setup(layout: Layout, rec: ContainerRecord) -> Prepared:
    from geedocker.network.endpoint import setup as _setup

    return _setup(layout, rec)


def release(layout: Layout, cid: str) -> None:
    from geedocker.network.endpoint import release as _release

    _release(layout, cid)


def describe(layout: Layout, cid: str, mode: str = "bridge") -> dict[str, Any]:
    from geedocker.network.report import describe as _describe

    return _describe(layout, cid, mode)


def ports_text(layout: Layout, cid: str) -> str:
    from geedocker.network.report import ports_text as _ports_text

    return _ports_text(layout, cid)
