"""geedocker's nftables table made to match the on-disk state: every bridge network's masquerade and isolation,
every running container's published ports (``network.nft`` writes and applies the ruleset)."""

from __future__ import annotations

import os

from geedocker.network.config import NetworkConfig, NetworkStore, readable_configs
from geedocker.network.netstate import all_states
from geedocker.store.layout import Layout


def sync_firewall(layout: Layout) -> None:
    """Make geedocker's nftables table match every bridge network and every published port.

    A network's rules (masquerade, isolation) live as long as the network, as docker's do for its bridges;
    a container's (DNAT of its published ports) while the container runs. So a container without
    published ports changes no rule, and ``nft.apply`` has nothing to commit."""
    import ipaddress

    from geedocker.network import nft  # bridge networks only: not on the --network none/host path

    nets = [nft.BridgeNat(cfg.bridge, cfg.subnet) for cfg in readable_configs(NetworkStore(layout))
            if _bridge_made(cfg)]
    ports: list[nft.PortForward] = []
    for st in all_states(layout):
        nets += [nft.BridgeNat(ep.bridge, ipaddress.IPv4Network(f"{ep.address}/{ep.prefixlen}", strict=False))
                 for ep in st.endpoints]  # a network removed under a container (not normally possible)
        if st.endpoints:
            ip = st.endpoints[0].address
            ports += [nft.PortForward(p.protocol, p.host_port, ip, p.container_port, p.host_ip) for p in st.ports]
    nft.apply(nft.Ruleset(tuple(sorted(set(nets))), tuple(sorted(set(ports)))), nft.table_name(layout))


def _bridge_made(cfg: NetworkConfig) -> bool:
    """True once the network's bridge exists (it is made with the first container on the network)."""
    return os.path.exists(f"/sys/class/net/{cfg.bridge}")
