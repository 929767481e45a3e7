"""A container's network recorded at create (``setup``, called by the engine while it writes the bundle): the
networks it asks for (``--ip``, aliases, ports) in its state file, its /etc/hosts and resolv.conf written, and
the ``Attachment`` config.json is built with (those files' binds and the namespace), by mode:

- bridge / a user network: a network namespace file ``$RUN/netns/<id>``, made with the endpoint at start;
- none: the same namespace, with only loopback (up);
- host: nothing (the host's namespace, /etc/hosts and resolv.conf);
- container:NAME: the other container's namespace, /etc/hosts and resolv.conf.

Nothing is made on the host here: the endpoint is ``network.endpoint``'s, when the container starts."""

from __future__ import annotations

from pathlib import Path

from geedocker.errors import NetworkError
from geedocker.network import etcfiles
from geedocker.network.config import NetworkStore
from geedocker.network.hostsfiles import hosts_for, write_in_place
from geedocker.network.leases import ipam_of, netns_path
from geedocker.network.netstate import Membership, NetState, load_state, save_state
from geedocker.network.options import Attachment, NetworkOptions, NetworkRequest
from geedocker.network.ports import wanted_ports
from geedocker.store.layout import Layout
from geedocker.values import replace

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

MAX_HOSTS_BYTES = 1024 * 1024


def _read_host_file(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read(MAX_HOSTS_BYTES)
    except OSError:
        return ""


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
    write_in_place(hosts_path, hosts_for(layout, st, store))
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
