"""``network connect`` and ``network disconnect``: another interface for a container on a network, at once if it
runs (else at its next start), and one taken away; the others' /etc/hosts and the firewall follow."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from geedocker.errors import GeeDockerError, NetworkError
from geedocker.network import events as netevents
from geedocker.network.config import NetworkStore
from geedocker.network.firewall import sync_firewall
from geedocker.network.hostsfiles import hosts_for, refresh_hosts, write_in_place
from geedocker.network.interfaces import attach, detach
from geedocker.network.leases import ipam_of
from geedocker.network.netstate import Endpoint, Membership, load_state, locked, save_state
from geedocker.store.layout import Layout
from geedocker.values import replace


def connect(
    layout: Layout, network: str, cid: str, name: str, ip: str = "", aliases: Sequence[str] = ()
) -> Endpoint | None:
    """``network connect``: another interface (eth1, ...) on ``network`` for bridge-mode container ``cid``
    (named ``name``): at once if it runs (the endpoint), else at its next start (None), as docker's."""
    from geedocker.network import netlink

    with locked(layout):
        store = NetworkStore(layout)
        cfg = store.get(network)
        st = load_state(layout, cid)
        if st is None or st.mode not in ("bridge", "none") or not st.netns:
            mode = st.mode if st else "no network"
            raise NetworkError(f"container {name} cannot be connected to a network: its network mode is {mode}")
        if any(a.network == cfg.name for a in st.networks):
            raise NetworkError(f"endpoint with name {name} already exists in network {cfg.name}")
        if ip:
            ipam_of(store, cfg).check_requested(ip)
        used = {a.ifname for a in st.networks}
        ifname = next(f"eth{i}" for i in range(len(used) + 1) if f"eth{i}" not in used)
        att = Membership(cfg.name, cfg.id, ifname, ip, tuple(aliases))
        st = replace(st, mode="bridge", networks=(*st.networks, att))
        if not netlink.is_mountpoint(Path(st.netns)):  # not running: the endpoint comes with the next start
            save_state(layout, st)
            return None
        first = not st.endpoints
        ep = attach(layout, store, cfg, cid, name, Path(st.netns), ifname, ip, aliases, default_route=first)
        try:
            st = replace(st, endpoints=(*st.endpoints, ep))
            save_state(layout, st)
            write_in_place(Path(st.hosts_path), hosts_for(layout, st, store))
            refresh_hosts(layout, store, [cfg.name])
            sync_firewall(layout)
        except BaseException:
            with contextlib.suppress(GeeDockerError):
                detach(layout, store, st, cfg)
            raise
        netevents.emit(layout, "connect", cfg.id, cfg.name, cfg.driver, cid)
        return ep


def disconnect(layout: Layout, network: str, cid: str, name: str) -> None:
    """``network disconnect``: remove container ``cid``'s (named ``name``) interface on ``network``."""
    with locked(layout):
        store = NetworkStore(layout)
        cfg = store.get(network)
        st = load_state(layout, cid)
        if st is None or not any(a.network == cfg.name for a in st.networks):
            raise NetworkError(f"container {name} is not connected to network {cfg.name}")
        st = detach(layout, store, st, cfg)
        netevents.emit(layout, "disconnect", cfg.id, cfg.name, cfg.driver, cid)  # also when it is not running
        if st.hosts_path:
            with contextlib.suppress(OSError):
                write_in_place(Path(st.hosts_path), hosts_for(layout, st, store))
        refresh_hosts(layout, store, [cfg.name])
        sync_firewall(layout)
