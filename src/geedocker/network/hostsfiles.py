"""The containers' /etc/hosts files on user networks, kept current: every container's file lists the others (name,
aliases, short id, from the network's leases) and is rewritten in place whenever a container joins or leaves
(docker answers through an embedded DNS server; a hosts file works with every libc and needs no process). The
default ``bridge`` network, as docker's, has no name resolution between containers. The text itself is
``network.etcfiles``'s."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from geedocker.errors import NetworkError
from geedocker.network import etcfiles
from geedocker.network.config import DEFAULT_NETWORK, NetworkStore
from geedocker.network.leases import ipam_of
from geedocker.network.netstate import NetState, all_states
from geedocker.store.layout import Layout


def write_in_place(path: Path, text: str) -> None:
    """Rewrite a file that may be bind-mounted into running containers (same inode, no rename)."""
    data = text.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    try:
        os.ftruncate(fd, 0)
        view = memoryview(data)
        off = 0
        while off < len(data):
            off += os.pwrite(fd, view[off:], off)
    finally:
        os.close(fd)


def lease_names(name: str, cid: str, aliases: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([name, *aliases, cid[:12]]))


def hosts_for(layout: Layout, st: NetState, store: NetworkStore) -> str:
    own: list[etcfiles.HostEntry] = []
    peers: list[etcfiles.HostEntry] = []
    if st.endpoints:
        first = st.endpoints[0]
        own.append(etcfiles.HostEntry(str(first.address), (st.hostname, st.name)))
    seen: set[str] = set()
    for ep in st.endpoints:
        if ep.network == DEFAULT_NETWORK:
            continue
        try:
            cfg = store.get(ep.network)
        except NetworkError:
            continue
        for lease in ipam_of(store, cfg).leases():
            if lease.owner == st.container_id or str(lease.address) in seen:
                continue
            seen.add(str(lease.address))
            peers.append(etcfiles.HostEntry(str(lease.address), lease.names))
    extra = [(n, _host_gateway(st) if ip == "host-gateway" else ip) for n, ip in st.add_hosts]
    return etcfiles.hosts_text(own=own, extra=extra, peers=peers)


def _host_gateway(st: NetState) -> str:
    return str(st.endpoints[0].gateway) if st.endpoints else "127.0.0.1"


def refresh_hosts(layout: Layout, store: NetworkStore, networks: Sequence[str]) -> None:
    """Rewrite /etc/hosts of every container on ``networks`` (user networks only)."""
    wanted = {n for n in networks if n != DEFAULT_NETWORK}
    if not wanted:
        return
    for st in all_states(layout):
        if st.mode != "bridge" or not st.hosts_path or not wanted & {e.network for e in st.endpoints}:
            continue
        with contextlib.suppress(OSError):
            write_in_place(Path(st.hosts_path), hosts_for(layout, st, store))
