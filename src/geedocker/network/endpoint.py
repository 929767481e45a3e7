"""A container's place on the network, from ``create`` to ``rm``.

``setup`` (called by the engine while it writes the bundle) gives the container, by mode:

- bridge / a user network: a network namespace file ``$RUN/netns/<id>``, a veth pair (host end
  ``gd<13 hex>`` on the network's bridge, ``eth0`` inside with an IPAM address, docker's 02:42 MAC and
  a default route via the gateway), published ports (DNAT rules in geedocker's nftables table) and
  outbound masquerade;
- none: a namespace with only loopback (up);
- host: nothing (the host's namespace, /etc/hosts and resolv.conf);
- container:NAME: the other container's namespace, /etc/hosts and resolv.conf.

``setup`` only records what was asked (the networks, ``--ip``, aliases, ports) and writes /etc files:
the endpoint itself (namespace, veth, address, DNAT rules, host ports) is made by ``start`` when the
container starts and undone by ``stop`` when it exits (its monitor calls both), as docker's endpoints
live while the container runs. So a stopped container holds no address and no port, and a start takes
them again (the same address when ``--ip`` asked for it). ``release`` (``rm``) undoes everything.

On a user network every container's /etc/hosts lists the others (name, aliases, short id); the files
are rewritten in place whenever a container joins or leaves (docker answers through an embedded DNS
server; a hosts file works with every libc and needs no process). The default ``bridge`` network,
as docker's, has no name resolution between containers.

State per container: ``containers/<id>/network.json`` (``network.netstate``); published ports are resolved by
``network.ports``. All changes hold ``locks/network.lock``. Addresses come
from the host-wide lease table of each bridge (``network.ipam``, its own lock taken inside that one), shared with
every other store on the host.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from geedocker.errors import GeeDockerError, NetworkError
from geedocker.logger import get_logger
from geedocker.network import etcfiles
from geedocker.network import events as netevents
from geedocker.network.config import DEFAULT_NETWORK, NetworkConfig, NetworkStore
from geedocker.network.netstate import (
    Endpoint,
    Membership,
    NetState,
    all_states,
    load_state,
    locked,
    save_state,
    state_path,
)
from geedocker.network.options import Attachment, NetworkOptions, NetworkRequest
from geedocker.network.ports import bound_ports, resolve_ports, wanted_ports
from geedocker.store.layout import Layout
from geedocker.values import replace

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import ipaddress
    from typing import Any

    from geedocker.network.ipam import Ipam

log = get_logger(__name__)

STATE_FILE = "network.json"
MAX_STATE_BYTES = 1024 * 1024
MAX_HOSTS_BYTES = 1024 * 1024


def veth_name(cid: str, network_id: str) -> str:
    import hashlib  # here: loading OpenSSL costs ms, and --network none never names a veth

    return "gd" + hashlib.sha256(f"{cid}:{network_id}".encode()).hexdigest()[:13]


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


# ---------------------------------------------------------------- /etc files


def _write_in_place(path: Path, text: str) -> None:
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


def _lease_names(name: str, cid: str, aliases: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([name, *aliases, cid[:12]]))


def _hosts_for(layout: Layout, st: NetState, store: NetworkStore) -> str:
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


def _read_host_file(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read(MAX_HOSTS_BYTES)
    except OSError:
        return ""


def _refresh_hosts(layout: Layout, store: NetworkStore, networks: Sequence[str]) -> None:
    """Rewrite /etc/hosts of every container on ``networks`` (user networks only)."""
    wanted = {n for n in networks if n != DEFAULT_NETWORK}
    if not wanted:
        return
    for st in all_states(layout):
        if st.mode != "bridge" or not st.hosts_path or not wanted & {e.network for e in st.endpoints}:
            continue
        with contextlib.suppress(OSError):
            _write_in_place(Path(st.hosts_path), _hosts_for(layout, st, store))


# ---------------------------------------------------------------- ports


# ---------------------------------------------------------------- firewall


def sync_firewall(layout: Layout) -> None:
    """Make geedocker's nftables table match every bridge network and every published port.

    A network's rules (masquerade, isolation) live as long as the network, as docker's do for its bridges;
    a container's (DNAT of its published ports) while the container runs. So a container without
    published ports changes no rule, and ``nft.apply`` has nothing to commit."""
    import ipaddress

    from geedocker.network import nft  # bridge networks only: not on the --network none/host path

    nets = [nft.BridgeNat(cfg.bridge, cfg.subnet) for cfg in _configs(NetworkStore(layout)) if _bridge_made(cfg)]
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


# ---------------------------------------------------------------- setup / release


def _bind(dest: str, src: str | Path) -> dict[str, Any]:
    return {"destination": dest, "type": "bind", "source": str(src), "options": ["rbind", "rprivate"]}


def setup(layout: Layout, req: NetworkRequest) -> Attachment:
    """Record the network the (just recorded) container ``req.container_id`` asks for and write its /etc
    files; see the module's docstring. Nothing is made on the host: ``start`` does that.

    Nothing is left behind on failure. The engine calls ``release`` when it removes the container.
    """
    opts = req.options
    cdir = layout.container_dir(req.container_id)
    hosts_path = cdir / "hosts"
    resolv_path = cdir / "resolv.conf"
    host_resolv = _read_host_file("/etc/resolv.conf")
    layout.networks.mkdir(parents=True, exist_ok=True)
    if opts.mode == "host":
        text = _read_host_file("/etc/hosts") or etcfiles.hosts_text()
        text += "".join(f"{ip}\t{n}\n" for n, ip in opts.add_hosts)
        hosts_path.write_text(text)
        resolv = etcfiles.resolv_text(host_resolv, dns=opts.dns, search=opts.dns_search, options=opts.dns_options,
                                      keep_loopback=True)  # fmt: skip
        mounts = [_bind("/etc/hosts", hosts_path)]
        if resolv:
            resolv_path.write_text(resolv)
            mounts.append(_bind("/etc/resolv.conf", resolv_path))
        st = NetState(req.container_id, req.name, req.hostname, "host", add_hosts=opts.add_hosts,
                      hosts_path=str(hosts_path), resolv_path=str(resolv_path) if resolv else "")  # fmt: skip
        save_state(layout, st)
        return Attachment(tuple(mounts), None)
    if opts.container:
        return _setup_joined(layout, req, opts)
    store = NetworkStore(layout)
    cfg = store.get(opts.mode) if opts.mode != "none" else None
    networks: tuple[Membership, ...] = ()
    if cfg is not None:
        if opts.ip:
            ipam_of(store, cfg).check_requested(opts.ip)
        networks = (Membership(cfg.name, cfg.id, "eth0", opts.ip, tuple(opts.aliases)),)
    ns = netns_path(layout, req.container_id)
    st = NetState(req.container_id, req.name, req.hostname, "bridge" if cfg else "none", netns=str(ns),
                  add_hosts=opts.add_hosts, hosts_path=str(hosts_path), resolv_path=str(resolv_path),
                  networks=networks, wanted_ports=tuple(wanted_ports(req)) if cfg else ())  # fmt: skip
    resolv = etcfiles.resolv_text(host_resolv, dns=opts.dns, search=opts.dns_search, options=opts.dns_options)
    mounts = [_bind("/etc/hosts", hosts_path)]
    if resolv:
        resolv_path.write_text(resolv)
        mounts.append(_bind("/etc/resolv.conf", resolv_path))
    else:
        st = replace(st, resolv_path="")
    _write_in_place(hosts_path, _hosts_for(layout, st, store))
    save_state(layout, st)
    return Attachment(tuple(mounts), str(ns))


def _setup_joined(layout: Layout, req: NetworkRequest, opts: NetworkOptions) -> Attachment:
    if req.join_id == req.container_id:
        raise NetworkError("a container cannot join its own network namespace")
    other = load_state(layout, req.join_id)
    if other is None:
        raise NetworkError(f"container {opts.container} has no network to join")
    mounts = []
    if other.hosts_path:
        mounts.append(_bind("/etc/hosts", other.hosts_path))
    if other.resolv_path:
        mounts.append(_bind("/etc/resolv.conf", other.resolv_path))
    joined = other.joined or req.join_id
    st = NetState(req.container_id, req.name, req.hostname, "container", netns=other.netns, joined=joined)
    save_state(layout, st)
    return Attachment(tuple(mounts), other.netns if other.mode != "host" else None)


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
        eps.append(_attach(layout, store, cfg, st.container_id, st.name, ns, att.ifname, att.ip, att.aliases,
                           default_route=i == 0))  # fmt: skip
        st = replace(st, endpoints=tuple(eps))
        save_state(layout, st)  # at once: ``stop`` undoes what is listed
    if ports:
        st = replace(st, ports=tuple(ports))
        save_state(layout, st)
    if st.hosts_path:
        _write_in_place(Path(st.hosts_path), _hosts_for(layout, st, store))
    if cfgs:
        _refresh_hosts(layout, store, [c.name for c in cfgs])
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


def _attach(
    layout: Layout, store: NetworkStore, cfg: NetworkConfig, cid: str, name: str, ns: Path, ifname: str,
    ip: str, aliases: Sequence[str], *, default_route: bool,
) -> Endpoint:  # fmt: skip
    from geedocker.network import netlink
    from geedocker.network.ipam import mac_for

    addr = ipam_of(store, cfg).allocate(cid, ip, _lease_names(name, cid, aliases), netns=str(ns),
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
    for cfg in _configs(store) if leased else ():
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
            _refresh_hosts(layout, store, touched)
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
    for cfg in _configs(store):
        with contextlib.suppress(GeeDockerError):
            dead |= {lease.owner for lease in ipam_of(store, cfg).leases() if lease.owner not in live}
    if layout.netns.is_dir():
        dead |= {p.name for p in layout.netns.iterdir() if p.name not in live}
    for cid in sorted(dead):
        log.warning("releasing the network of vanished container %s", cid[:12])
        _release_locked(layout, cid, quiet=True)
    return sorted(dead)


def _configs(store: NetworkStore) -> list[NetworkConfig]:
    out = []
    for name in store.names():
        with contextlib.suppress(NetworkError):
            out.append(store.get(name))
    return out


# ---------------------------------------------------------------- connect / disconnect


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
        ep = _attach(layout, store, cfg, cid, name, Path(st.netns), ifname, ip, aliases, default_route=first)
        try:
            st = replace(st, endpoints=(*st.endpoints, ep))
            save_state(layout, st)
            _write_in_place(Path(st.hosts_path), _hosts_for(layout, st, store))
            _refresh_hosts(layout, store, [cfg.name])
            sync_firewall(layout)
        except BaseException:
            with contextlib.suppress(GeeDockerError):
                _detach(layout, store, st, cfg)
            raise
        netevents.emit(layout, "connect", cfg.id, cfg.name, cfg.driver, cid)
        return ep


def _detach(layout: Layout, store: NetworkStore, st: NetState, cfg: NetworkConfig) -> NetState:
    from geedocker.network import netlink

    ep = next((e for e in st.endpoints if e.network == cfg.name), None)
    if ep is not None:
        netlink.delete_link(ep.host_veth)
    ipam_of(store, cfg).release(st.container_id)
    st = replace(st, endpoints=tuple(e for e in st.endpoints if e.network != cfg.name),
                 networks=tuple(a for a in st.networks if a.network != cfg.name))  # fmt: skip
    save_state(layout, st)
    return st


def disconnect(layout: Layout, network: str, cid: str, name: str) -> None:
    """``network disconnect``: remove container ``cid``'s (named ``name``) interface on ``network``."""
    with locked(layout):
        store = NetworkStore(layout)
        cfg = store.get(network)
        st = load_state(layout, cid)
        if st is None or not any(a.network == cfg.name for a in st.networks):
            raise NetworkError(f"container {name} is not connected to network {cfg.name}")
        st = _detach(layout, store, st, cfg)
        netevents.emit(layout, "disconnect", cfg.id, cfg.name, cfg.driver, cid)  # also when it is not running
        if st.hosts_path:
            with contextlib.suppress(OSError):
                _write_in_place(Path(st.hosts_path), _hosts_for(layout, st, store))
        _refresh_hosts(layout, store, [cfg.name])
        sync_firewall(layout)


# ---------------------------------------------------------------- networks


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


def network_containers(layout: Layout, cfg: NetworkConfig) -> list[tuple[NetState, Endpoint]]:
    return [(st, e) for st in all_states(layout) for e in st.endpoints if e.network == cfg.name]
