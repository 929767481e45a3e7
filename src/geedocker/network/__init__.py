"""Container networking: bridge networks, veths, IPAM, NAT and published ports, /etc/hosts and resolv.conf.

The engine calls these (each imports its module lazily, so ``--network host`` stays light)::

    attachment = network.setup(layout, request)  # while writing the bundle: what it asks, /etc files;
                                                 # config.json is built with it (containers.spec)
    network.start(layout, cid)                 # its monitor, before it starts: netns, veth, address, ports
    network.stop(layout, cid)                  # its monitor, after it exited: all of that released
    network.release(layout, cid)               # on rm (also --rm): the same, and its network state
    network.describe(layout, cid) -> dict      # inspect's NetworkSettings
    network.ports_text(layout, cid) -> str     # ps's PORTS column

Modules: options (flags), config (networks on disk), ipam (address leases, host-wide per bridge), subnets
(subnet claims, host-wide), hostcheck (``system check``'s part), etcfiles (hosts, resolv.conf text),
nft (geedocker's nftables table), netlink (bridges, veths, namespaces) over rtnl (rtnetlink requests) and
rtnl_messages (their wire format),
netstate (a container's network state), ports (host ports for -p/-P), leases (a network's lease table as a
store sees it), attachment (setup: what a container asks, its /etc files), endpoint (start/stop/release),
interfaces (one veth on one network), hostsfiles (/etc/hosts of user networks kept current), firewall
(the nftables table made to match), connect (network connect/disconnect), networks (network create/rm),
report (inspect/ps), inspect (network ls/inspect). The run flags are registered by
``geedocker.cli.network_flags``. ``request`` is an ``options.NetworkRequest``: the network package sits below
the engine and never sees its container records.

Choices (docker's behaviour unless said):

- Default network ``bridge``: bridge ``geedocker0`` (``GEEDOCKER_BRIDGE``) on the first of
  10.89.0.0/16, 10.90.0.0/16... that no host route overlaps (``GEEDOCKER_BRIDGE_SUBNET``); podman
  takes 10.88.0.0/16, so we start above it. User networks: bridge ``gd-<id12>``, a free /24 of
  10.200.0.0/16 unless ``--subnet``.
- Published ports are kernel DNAT rules (no userspace proxy process): ``prerouting`` for other hosts and
  containers, ``output`` for the host itself; 127.0.0.1 works through
  ``net.ipv4.conf.<bridge>.route_localnet=1`` plus a masquerade of 127.0.0.0/8 sources entering the
  bridge. geedocker sets that sysctl and ``net.ipv4.ip_forward=1`` when it brings a bridge up, and
  never resets them (other users may rely on them). A port is checked by binding it for a moment and
  against other containers' ports; it is reserved while the container runs, as docker's.
  Containers reach published ports (their own too) through a host address: such connections are
  masqueraded to the gateway so the reply returns through the host.
- /etc/resolv.conf: the host's, loopback name servers dropped; none left -> no ``nameserver`` line
  (docker would add 8.8.8.8; we never point containers at an outside server on our own). ``--dns``
  replaces the servers.
- Names on user networks: /etc/hosts of every container on the network is rewritten in place when a
  container joins or leaves (no embedded DNS server); the default bridge has no names, as docker's.
- Firewall: only geedocker's own ``table ip geedocker`` (``geedocker-<hash>`` for any other store root),
  replaced atomically from the on-disk state when it changes and deleted when nothing uses it. A bridge
  network's rules (masquerade, isolation) live as long as the network has its bridge, as docker's do; a
  container's (DNAT for its published ports) while the container runs. A container without published
  ports therefore changes no rule.
- One address space per host: every store on the host (any ``--root`` and run root) takes addresses from
  the bridge's one lease table and picks subnets around the others' claims (``Layout.host_network``,
  /run/geedocker/host unless ``GEEDOCKER_HOST_RUN``); stale leases and claims are reclaimed.
- IPv4 only.
"""

from __future__ import annotations

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

    from geedocker.network.options import Attachment, NetworkRequest
    from geedocker.store.layout import Layout


def setup(layout: Layout, req: NetworkRequest) -> Attachment:
    from geedocker.network.attachment import setup as _setup

    return _setup(layout, req)


def release(layout: Layout, cid: str, *, exited: bool = False) -> None:
    from geedocker.network.endpoint import release as _release

    _release(layout, cid, exited=exited)


def start(layout: Layout, cid: str) -> None:
    from geedocker.network.endpoint import start as _start

    _start(layout, cid)


def stop(layout: Layout, cid: str) -> None:
    from geedocker.network.endpoint import stop as _stop

    _stop(layout, cid)


def describe(layout: Layout, cid: str, mode: str = "bridge") -> dict[str, Any]:
    from geedocker.network.report import describe as _describe

    return _describe(layout, cid, mode)


def ports_text(layout: Layout, cid: str) -> str:
    from geedocker.network.report import ports_text as _ports_text

    return _ports_text(layout, cid)
