"""``network create`` and ``network rm``: a user network recorded (``network.config``) and its ``create`` event;
removed with its bridge and firewall rules, unless it is pre-defined or containers are on it."""

from __future__ import annotations

from collections.abc import Sequence

from geedocker.errors import NetworkError
from geedocker.network import events as netevents
from geedocker.network.config import NetworkConfig, NetworkStore
from geedocker.network.firewall import sync_firewall
from geedocker.network.leases import ipam_of
from geedocker.network.netstate import all_states, locked
from geedocker.store.layout import Layout


def remove_network(layout: Layout, ref: str) -> NetworkConfig:
    """``network rm``: refuses the pre-defined ones and networks with containers; deletes the bridge."""
    from geedocker.network import netlink
    from geedocker.network.errors import NetworkInUse

    if ref in ("bridge", "host", "none"):
        raise NetworkError(f"{ref} is a pre-defined network and cannot be removed")
    with locked(layout):
        store = NetworkStore(layout)
        cfg = store.get(ref)
        if cfg.is_default:
            raise NetworkError(f"{cfg.name} is a pre-defined network and cannot be removed")
        users = [lease.owner for lease in ipam_of(store, cfg).leases()]
        users += [st.container_id for st in all_states(layout) if any(a.network == cfg.name for a in st.networks)]
        if users:
            raise NetworkInUse(
                f"error while removing network: network {cfg.name} id {cfg.id[:12]} has active endpoints "
                f"({', '.join(sorted({u[:12] for u in users}))})"
            )
        netlink.delete_link(cfg.bridge)
        store.delete(cfg.name)
        sync_firewall(layout)
        netevents.emit(layout, "destroy", cfg.id, cfg.name, cfg.driver)
        return cfg


def create_network(layout: Layout, name: str, subnet: str = "", gateway: str = "",
                   labels: Sequence[tuple[str, str]] = ()) -> NetworkConfig:  # fmt: skip
    with locked(layout):
        cfg = NetworkStore(layout).create(name, subnet, gateway, labels)
    netevents.emit(layout, "create", cfg.id, cfg.name, cfg.driver)
    return cfg
