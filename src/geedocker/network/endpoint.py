"""A container's endpoint, which lives while the container runs, as docker's.

``network.attachment.setup`` only records what a container asks (the networks, ``--ip``, aliases, ports) and
writes its /etc files: the endpoint itself (namespace, veths, addresses, DNAT rules, host ports) is made by
``start`` when the container starts and undone by ``stop`` when it exits (its monitor calls both). So a stopped
container holds no address and no port, and a start takes them again (the same address when ``--ip`` asked for
it). ``release`` (``rm``) undoes everything; ``collect_garbage`` releases what vanished containers still hold.

- bridge / a user network: the namespace file ``$RUN/netns/<id>``, one interface per network
  (``network.interfaces``: ``eth0`` with the default route, ``eth1``...), published ports (DNAT rules in
  geedocker's nftables table, ``network.firewall``) and outbound masquerade;
- none: the namespace with only loopback (up);
- host, container:NAME: nothing to make (a ``container:`` one checks that the other one runs).

State per container: ``containers/<id>/network.json`` (``network.netstate``); published ports are resolved by
``network.ports``. All changes hold ``locks/network.lock``. Addresses come
from the host-wide lease table of each bridge (``network.ipam``, its own lock taken inside that one), shared with
every other store on the host.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from geedocker.errors import GeeDockerError, NetworkError
from geedocker.logger import get_logger
from geedocker.network import events as netevents
from geedocker.network.config import NetworkStore, readable_configs
from geedocker.network.firewall import sync_firewall
from geedocker.network.hostsfiles import hosts_for, refresh_hosts, write_in_place
from geedocker.network.interfaces import attach, veth_name
from geedocker.network.leases import ipam_of, netns_path
from geedocker.network.netstate import Endpoint, NetState, all_states, load_state, locked, save_state, state_path
from geedocker.network.ports import bound_ports, resolve_ports
from geedocker.store.layout import Layout
from geedocker.values import replace

log = get_logger(__name__)


def start(layout: Layout, cid: str) -> None:
    """Before the container ``cid`` starts: make its endpoint (namespace, veths, addresses, routes, host
    ports, DNAT rules, /etc/hosts). Undone on failure. Leftovers of an earlier run whose monitor died
    before ``stop`` are released first."""
    st = load_state(layout, cid)
    if st is not None and st.mode == "host":
        netevents.predefined(layout, "connect", "host", cid)
    if st is None or not st.netns:
        return
    from geedocker.network import netlink

    if st.mode == "container":
        if not netlink.is_mountpoint(Path(st.netns)):
            raise NetworkError(f"cannot join network of a non running container: {st.joined[:12]}")
        return
    if st.mode not in ("bridge", "none"):
        return
    with locked(layout):
        if st.endpoints or st.ports or os.path.lexists(st.netns):
            _release_locked(layout, cid, quiet=True, keep_state=True)
            st = load_state(layout, cid) or st
        try:
            _start_locked(layout, st)
        except BaseException:
            _release_locked(layout, cid, quiet=True, keep_state=True)
            raise
    # the endpoints made are in the state file now (a container on no network has none: no need to read it)
    _events(layout, (load_state(layout, cid) or st) if st.networks else st, "connect")


def _events(layout: Layout, st: NetState, action: str) -> None:
    """``connect``/``disconnect`` events for a running container's live networks (``none``: the none network)."""
    if st.mode == "none" and not st.endpoints:
        netevents.predefined(layout, action, "none", st.container_id)
    for ep in st.endpoints:  # every network geedocker makes is a bridge
        netevents.emit(layout, action, ep.network_id, ep.network, "bridge", st.container_id)


def _live(layout: Layout, cid: str) -> NetState | None:
    """The container's network state if it has something live to disconnect (endpoints, its own namespace)."""
    with contextlib.suppress(NetworkError):
        st = load_state(layout, cid)
        if st is not None and (st.endpoints or (st.mode == "none" and os.path.lexists(st.netns))):
            return st
    return None


def _start_locked(layout: Layout, st: NetState) -> None:
    from geedocker.network import netlink

    store = NetworkStore(layout)
    cfgs = [store.get(a.network) for a in st.networks]
    if cfgs:  # what vanished containers hold matters to a network's leases, names and rules
        collect_garbage(layout, store)
    ports = resolve_ports(st.wanted_ports, bound_ports(layout, st.container_id)) if cfgs else []
    ns = Path(st.netns)
    netlink.create_netns(ns)
    eps: list[Endpoint] = []
    for i, (att, cfg) in enumerate(zip(st.networks, cfgs, strict=True)):
        eps.append(attach(layout, store, cfg, st.container_id, st.name, ns, att.ifname, att.ip, att.aliases,
                           default_route=i == 0))  # fmt: skip
        st = replace(st, endpoints=tuple(eps))
        save_state(layout, st)  # at once: ``stop`` undoes what is listed
    if ports:
        st = replace(st, ports=tuple(ports))
        save_state(layout, st)
    if st.hosts_path:
        write_in_place(Path(st.hosts_path), hosts_for(layout, st, store))
    if cfgs:
        refresh_hosts(layout, store, [c.name for c in cfgs])
        sync_firewall(layout)


def stop(layout: Layout, cid: str) -> None:
    """After the container ``cid`` exited: release its endpoint (veths, addresses, namespace, host ports,
    DNAT rules) and keep what it asked for, for its next start. Safe to call more than once."""
    with locked(layout):
        live = _live(layout, cid)
        try:
            _release_locked(layout, cid, quiet=False, keep_state=True)
        finally:
            _disconnected(layout, cid, live, exited=True)


def _disconnected(layout: Layout, cid: str, live: NetState | None, *, exited: bool) -> None:
    if live is not None:
        _events(layout, live, "disconnect")
    elif exited:
        with contextlib.suppress(NetworkError):
            st = load_state(layout, cid)
            if st is not None and st.mode == "host":  # nothing live to tell by: the caller says it ran
                netevents.predefined(layout, "disconnect", "host", cid)



def release(layout: Layout, cid: str, *, exited: bool = False) -> None:
    """Undo ``setup`` (and every ``connect``) for container ``cid``: veths, leases, rules, namespace,
    state. Safe to call more than once and on a container that never had a network. ``exited``: the
    container ran until now (its monitor releases it), for the events of a ``host`` container."""
    with locked(layout):
        live = _live(layout, cid)
        try:
            _release_locked(layout, cid, quiet=False)
        finally:
            _disconnected(layout, cid, live, exited=exited)


def _release_locked(layout: Layout, cid: str, *, quiet: bool, keep_state: bool = False) -> None:
    problems: list[str] = []
    store = NetworkStore(layout)
    try:
        st = load_state(layout, cid)
    except NetworkError as e:
        problems.append(str(e))
        st = None
    touched: list[str] = []
    veths = {e.host_veth for e in st.endpoints} if st else set()
    # Leases: a container on no network (``none``, ``host``, ``container:``) never took one; any other may
    # have, also one its state does not list yet (a crash between the two writes).
    leased = st is None or st.mode == "bridge" or bool(st.endpoints)
    for cfg in readable_configs(store) if leased else ():
        try:
            if ipam_of(store, cfg).release(cid):
                touched.append(cfg.name)
                veths.add(veth_name(cid, cfg.id))
        except GeeDockerError as e:
            problems.append(str(e))
    if veths or (st is not None and st.mode in ("bridge", "none")) or netns_path(layout, cid).exists():
        from geedocker.network import netlink

        own_ns = st is None or st.mode != "container"
        # Deleting a veth waits ~15 ms in the kernel. When the namespace holding its peer goes away with
        # nobody left in it, the kernel deletes the pair itself, in the background: then we only take the
        # host end off its bridge at once (so it cannot answer for the address we free) and drop the namespace.
        lazy = (bool(veths) and own_ns and netlink.is_mountpoint(netns_path(layout, cid))
                and not _joined_by_others(layout, cid))
        for v in sorted(veths):
            try:
                if lazy:
                    netlink.detach_link(v)
                else:
                    netlink.delete_link(v)
            except GeeDockerError as e:
                problems.append(str(e))
        if own_ns:
            try:
                netlink.delete_netns(netns_path(layout, cid))
            except GeeDockerError as e:
                problems.append(str(e))
    if keep_state and st is not None:
        if st.endpoints or st.ports:
            with contextlib.suppress(OSError):
                save_state(layout, replace(st, endpoints=(), ports=()))
    else:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            state_path(layout, cid).unlink()
    touched += [e.network for e in st.endpoints] if st else []
    if touched or (st is not None and st.ports):
        try:
            refresh_hosts(layout, store, touched)
            sync_firewall(layout)
        except GeeDockerError as e:
            problems.append(str(e))
    if problems and not quiet:
        raise NetworkError(f"releasing the network of container {cid[:12]}: {'; '.join(problems)}")
    for p in problems:
        log.warning("releasing the network of container %s: %s", cid[:12], p)


def _joined_by_others(layout: Layout, cid: str) -> bool:
    """True if another container shares container ``cid``'s namespace (``--network container:<cid>``)."""
    return any(st.joined == cid and st.container_id != cid for st in all_states(layout))


def collect_garbage(layout: Layout, store: NetworkStore) -> list[str]:
    """Release what containers whose directory is gone still hold (a crash between the engine's steps):
    leases, veths, namespace files. Called with the lock held; returns the container ids it cleaned."""
    live = set(os.listdir(layout.containers)) if layout.containers.is_dir() else set()
    dead: set[str] = set()
    for cfg in readable_configs(store):
        with contextlib.suppress(GeeDockerError):
            dead |= {lease.owner for lease in ipam_of(store, cfg).leases() if lease.owner not in live}
    if layout.netns.is_dir():
        dead |= {p.name for p in layout.netns.iterdir() if p.name not in live}
    for cid in sorted(dead):
        log.warning("releasing the network of vanished container %s", cid[:12])
        _release_locked(layout, cid, quiet=True)
    return sorted(dead)
