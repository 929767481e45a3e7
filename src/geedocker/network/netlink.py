"""Links, addresses, routes and network namespaces, through rtnetlink (:mod:`geedocker.network.rtnl`),
and the sysctls we set.

A container's network namespace is a file (``$RUN/netns/<id>``) on which the calling thread's network
namespace is bind-mounted after an unshare(2), as ``ip netns add`` does; the runtime joins it by path.
Bridges, veths, addresses and routes are made with a few netlink requests over a NETLINK_ROUTE socket
(the container's side through a socket created inside its namespace): no netlink library, no ``ip``.

Sysctls: ``net.ipv4.ip_forward=1`` (containers' traffic is routed through the host) and
``net.ipv4.conf.<bridge>.route_localnet=1`` (a published port reached on 127.0.0.1 is DNATed to a
container: the packet keeps its 127.0.0.1 source until the postrouting masquerade, and the kernel
drops such packets on a device without route_localnet).
"""

from __future__ import annotations

import _socket  # not socket: its enums cost a millisecond of every start (--network none too)
import contextlib
import errno
import fcntl
import os
import struct
from collections.abc import Callable
from pathlib import Path

from geedocker.errors import NetworkError
from geedocker.store.fsutil import is_mountpoint as is_mountpoint  # netlink.is_mountpoint for its callers

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import ipaddress

    from geedocker.network import rtnl

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def write_sysctl(name: str, value: str) -> None:
    path = Path("/proc/sys") / name.replace(".", "/")
    try:
        if path.read_text().strip() == value:
            return
        path.write_text(value + "\n")
    except OSError as e:
        raise NetworkError(f"setting {name}={value}: {e.strerror}") from e


def bridge_sysctls(bridge: str) -> None:
    write_sysctl("net.ipv4.ip_forward", "1")
    write_sysctl(f"net.ipv4.conf.{bridge}.route_localnet", "1")


def ensure_bridge(name: str, gateway: ipaddress.IPv4Address, prefixlen: int) -> None:
    """The bridge ``name`` exists, is up and holds ``gateway/prefixlen`` (made if missing)."""
    from geedocker.network import rtnl, rtnl_messages  # not on the --network none/host path

    with rtnl.Rtnl() as nl:
        if nl.link_index(name) is None:
            try:
                nl.add_bridge(name)
            except rtnl_messages.NetlinkError as e:
                if e.errno != errno.EEXIST:  # made by someone else meanwhile: fine
                    raise
        index = nl.link_index(name)
        if index is None:
            raise NetworkError(f"bridge {name} vanished while it was being made")
        if all(have.ip != gateway for have in nl.addresses(index)):
            try:
                nl.add_address(index, gateway, prefixlen)
            except rtnl_messages.NetlinkError as e:
                if e.errno != errno.EEXIST:
                    raise
        nl.set_link(index, up=True)
    bridge_sysctls(name)


def detach_link(name: str) -> bool:
    """Take link ``name`` off its bridge (no master) if it exists; True if it did."""
    return _on_link(name, lambda nl, index: nl.set_link(index, master=0))


def delete_link(name: str) -> bool:
    """Delete link ``name`` if it exists (a veth takes its peer along); True if it did."""
    return _on_link(name, lambda nl, index: nl.delete_link(index))


def _on_link(name: str, act: Callable[[rtnl.Rtnl, int], None]) -> bool:
    """``act(netlink, index)`` on link ``name``; False if there is no such link (or it went meanwhile)."""
    from geedocker.network import rtnl, rtnl_messages  # not on the --network none/host path

    with rtnl.Rtnl() as nl:
        index = nl.link_index(name)
        if index is None:
            return False
        try:
            act(nl, index)
        except rtnl_messages.NetlinkError as e:
            if e.errno in (errno.ENODEV, errno.ENOENT):
                return False
            raise
        return True


def _loopback_up() -> None:
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
    finally:
        s.close()


def create_netns(path: Path) -> None:
    """A new network namespace (loopback up) pinned at ``path``.

    The calling thread unshares its network namespace, bind-mounts it on ``path``, brings ``lo`` up and
    returns to its own namespace with setns(2) (network namespaces are per thread): no fork."""
    from geedocker.runtime import syscalls

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    except FileExistsError as e:
        raise NetworkError(f"network namespace {path} already exists") from e
    os.close(fd)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.unshare(syscalls.CLONE_NEWNET)
        try:
            syscalls.mount("/proc/thread-self/ns/net", str(path), "none", syscalls.MS_BIND)
            _loopback_up()
        finally:
            syscalls.setns(own, syscalls.CLONE_NEWNET)
    except OSError as e:
        delete_netns(path)
        raise NetworkError(f"creating network namespace {path}: {e.strerror or e}") from e
    finally:
        os.close(own)


def delete_netns(path: Path) -> None:
    """Unmount and remove a namespace file made by ``create_netns`` (nothing if it is gone)."""
    from geedocker.runtime import syscalls

    while is_mountpoint(path):
        try:
            syscalls.umount2(str(path), syscalls.MNT_DETACH)
        except OSError as e:
            raise NetworkError(f"unmounting network namespace {path}: {e.strerror}") from e
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def add_veth(
    *,
    host_name: str,
    bridge: str,
    netns: Path,
    ifname: str,
    address: ipaddress.IPv4Address,
    prefixlen: int,
    mac: str,
    gateway: ipaddress.IPv4Address | None,
) -> None:
    """A veth pair: ``host_name`` on ``bridge`` (hairpin on); its peer ``ifname``, made directly inside
    ``netns``, with the MAC, the address (and, with ``gateway``, the default route). On failure the pair
    is removed."""
    from geedocker.network import rtnl  # not on the --network none/host path

    try:
        fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise NetworkError(f"opening network namespace {netns}: {e.strerror}") from e
    try:
        with rtnl.Rtnl() as nl:
            br = nl.link_index(bridge)
            if br is None:
                raise NetworkError(f"bridge {bridge} does not exist")
            nl.add_veth(host_name, ifname, peer_netns_fd=fd)
            try:
                index = nl.link_index(host_name)
                if index is None:
                    raise NetworkError(f"veth {host_name} vanished while it was being made")
                nl.set_link(index, master=br, up=True)
                nl.set_hairpin(index)  # a container may reach its own published port
            except NetworkError as e:
                _quiet_delete(nl, host_name)
                raise _within(f"attaching {host_name} to bridge {bridge}", e) from e
    finally:
        os.close(fd)
    try:
        with rtnl.Rtnl(netns) as ns:
            index = ns.link_index(ifname)
            if index is None:
                raise NetworkError(f"{ifname} did not appear in {netns}")
            ns.set_link(index, address=mac)
            ns.add_address(index, address, prefixlen)
            ns.set_link(index, up=True)
            if gateway is not None:
                ns.add_default_route(gateway, index)
    except NetworkError as e:
        delete_link(host_name)
        raise _within(f"configuring {ifname} in {netns}", e) from e


def _within(what: str, e: NetworkError) -> NetworkError:
    """A kernel refusal reworded as part of ``what`` (its errno kept); other errors as they are."""
    from geedocker.network import rtnl_messages  # not on the --network none/host path

    if isinstance(e, rtnl_messages.NetlinkError):
        return rtnl_messages.NetlinkError(f"{what}: {e.operation}", e.errno, e.detail)
    return e


def _quiet_delete(nl: rtnl.Rtnl, name: str) -> None:
    with contextlib.suppress(NetworkError):
        index = nl.link_index(name)
        if index is not None:
            nl.delete_link(index)


def live_addresses(bridge: str) -> set[ipaddress.IPv4Address]:
    """Addresses in use on ``bridge`` now: its own and its live neighbours' (none if it does not exist). IPAM
    skips them: something outside the lease tables answers for them."""
    from geedocker.network import rtnl  # not on the --network none/host path

    with rtnl.Rtnl() as nl:
        index = nl.link_index(bridge)
        if index is None:
            return set()
        return {a.ip for a in nl.addresses(index)} | set(nl.neighbours(index))
