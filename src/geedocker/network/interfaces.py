"""One interface of a container on one network: its address leased, the network's bridge made if need be, a veth
pair (host end ``gd<13 hex>`` on the bridge, ``eth<n>`` in the container's namespace with docker's 02:42 MAC and,
for the first, the default route via the gateway) (``attach``); and taken down again (``detach``). Shared by the
endpoint's start and by ``network connect``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from geedocker.network.config import NetworkConfig, NetworkStore
from geedocker.network.hostsfiles import lease_names
from geedocker.network.leases import ipam_of
from geedocker.network.netstate import Endpoint, NetState, save_state
from geedocker.store.layout import Layout
from geedocker.values import replace


def veth_name(cid: str, network_id: str) -> str:
    import hashlib  # here: loading OpenSSL costs ms, and --network none never names a veth

    return "gd" + hashlib.sha256(f"{cid}:{network_id}".encode()).hexdigest()[:13]


def attach(
    layout: Layout, store: NetworkStore, cfg: NetworkConfig, cid: str, name: str, ns: Path, ifname: str,
    ip: str, aliases: Sequence[str], *, default_route: bool,
) -> Endpoint:  # fmt: skip
    from geedocker.network import netlink
    from geedocker.network.ipam import mac_for

    addr = ipam_of(store, cfg).allocate(cid, ip, lease_names(name, cid, aliases), netns=str(ns),
                                        home=str(layout.container_dir(cid)))
    netlink.ensure_bridge(cfg.bridge, cfg.gateway, cfg.subnet.prefixlen)
    ep = Endpoint(
        network=cfg.name, network_id=cfg.id, address=addr, prefixlen=cfg.subnet.prefixlen, gateway=cfg.gateway,
        mac=mac_for(addr), ifname=ifname, host_veth=veth_name(cid, cfg.id), bridge=cfg.bridge,
        aliases=tuple(aliases),
    )  # fmt: skip
    try:
        netlink.add_veth(
            host_name=ep.host_veth, bridge=cfg.bridge, netns=ns, ifname=ifname, address=addr,
            prefixlen=ep.prefixlen, mac=ep.mac, gateway=cfg.gateway if default_route else None,
        )  # fmt: skip
    except BaseException:
        ipam_of(store, cfg).release(cid)
        raise
    return ep


def detach(layout: Layout, store: NetworkStore, st: NetState, cfg: NetworkConfig) -> NetState:
    from geedocker.network import netlink

    ep = next((e for e in st.endpoints if e.network == cfg.name), None)
    if ep is not None:
        netlink.delete_link(ep.host_veth)
    ipam_of(store, cfg).release(st.container_id)
    st = replace(st, endpoints=tuple(e for e in st.endpoints if e.network != cfg.name),
                 networks=tuple(a for a in st.networks if a.network != cfg.name))  # fmt: skip
    save_state(layout, st)
    return st
