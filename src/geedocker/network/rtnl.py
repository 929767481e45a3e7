"""rtnetlink: the few link, address and route requests geedocker makes, over a NETLINK_ROUTE socket.

A small replacement for pyroute2 on the container start path (importing pyroute2 and running its asyncio
loop cost ~0.2 s per container). Only ``socket`` and ``struct``: messages are packed by hand with the
kernel's structures (:mod:`geedocker.network.rtnl_messages`, the wire format; this module is the socket and
the requests made over it).

Usage::

    with Rtnl() as nl:                        # the calling thread's network namespace
        nl.add_bridge("br0")
        index = nl.link_index("br0")
    with Rtnl(netns=Path("/run/netns/c1")) as nl:   # a socket bound to another namespace
        ...

Every request is sent with NLM_F_REQUEST|NLM_F_ACK and waits for the kernel's acknowledgement; a
refusal raises :class:`~geedocker.network.rtnl_messages.NetlinkError` (a :class:`~geedocker.errors.NetworkError`)
whose message names the operation and the kernel's error (with its extended-ack text when it gives one) and
whose ``errno`` attribute keeps the number, for callers that tolerate EEXIST or ENODEV. Dumps (RTM_GETADDR)
read the multi-part answer up to NLMSG_DONE. Replies to other sequence numbers or from other senders than the
kernel are skipped; the bytes read per request and the size of one datagram are bounded.

A netlink socket stays bound to the network namespace it was created in: for ``netns`` the calling
thread enters the namespace with setns(2), creates the socket and returns to its own namespace.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Iterator

from geedocker.errors import NetworkError
from geedocker.network.rtnl_messages import (
    IFA_ADDRESS,
    IFA_BROADCAST,
    IFA_LOCAL,
    IFADDRMSG,
    IFF_UP,
    IFINFOMSG,
    IFLA_ADDRESS,
    IFLA_BRPORT_MODE,
    IFLA_IFNAME,
    IFLA_INFO_DATA,
    IFLA_INFO_KIND,
    IFLA_LINKINFO,
    IFLA_MASTER,
    IFLA_NET_NS_FD,
    IFLA_PROTINFO,
    NDA_DST,
    NDA_IFINDEX,
    NDMSG,
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REQUEST,
    NUD_LIVE,
    RT_SCOPE_UNIVERSE,
    RT_TABLE_MAIN,
    RTA_GATEWAY,
    RTA_OIF,
    RTM_DELLINK,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETNEIGH,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWNEIGH,
    RTM_NEWROUTE,
    RTM_SETLINK,
    RTMSG,
    RTN_UNICAST,
    RTPROT_BOOT,
    VETH_INFO_PEER,
    Message,
    NetlinkError,
    attr,
    attr_str,
    attr_u8,
    attr_u32,
    collect,
    encode,
    ifinfomsg,
    nested,
    parse_attrs,
)

# linux/netlink.h: socket options
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10  # error acks echo only the request's header, not its payload
NETLINK_EXT_ACK = 11  # error acks may carry the kernel's message (NLMSGERR_ATTR_MSG)
NETLINK_GET_STRICT_CHK = 12  # dumps honour their filter (RTM_GETADDR by ifa_index)

RECV_BUFFER = 65536  # one datagram; the kernel fills at most 32 KiB of a dump at a time
TIMEOUT = 5.0  # seconds; the kernel answers synchronously, this only guards against a lost answer


def _new_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        for option in (NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK):
            try:
                sock.setsockopt(SOL_NETLINK, option, 1)
            except OSError:
                pass  # an older kernel: plain acks, unfiltered dumps (we filter too)
        sock.bind((0, 0))
        sock.settimeout(TIMEOUT)
    except BaseException:
        sock.close()
        raise
    return sock


def _open(netns: str | os.PathLike[str] | None) -> socket.socket:
    if netns is None:
        return _new_socket()
    from geedocker.runtime import syscalls

    target = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            syscalls.setns(target, syscalls.CLONE_NEWNET)
            try:
                return _new_socket()
            finally:
                syscalls.setns(own, syscalls.CLONE_NEWNET)
        finally:
            os.close(own)
    finally:
        os.close(target)


def _mac_bytes(mac: str | bytes) -> bytes:
    if isinstance(mac, bytes):
        return mac
    try:
        return bytes.fromhex(mac.replace(":", ""))
    except ValueError as e:
        raise NetworkError(f"invalid MAC address {mac!r}") from e


class Rtnl:
    """A NETLINK_ROUTE socket in the calling thread's network namespace, or in the one whose nsfs file
    is ``netns``; links are named by index (:meth:`link_index`), error messages by name when known."""

    def __init__(self, netns: str | os.PathLike[str] | None = None, *, sock: socket.socket | None = None) -> None:
        """``sock``: an open NETLINK_ROUTE socket to use instead (tests pass a stand-in)."""
        if sock is None:
            try:
                sock = _open(netns)
            except OSError as e:
                where = f" in {os.fspath(netns)}" if netns is not None else ""
                raise NetworkError(f"opening a netlink socket{where}: {e.strerror or e}") from e
        self._sock = sock
        self._seq = 0
        self._names: dict[int, str] = {}

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the exchange

    def request(self, msg_type: int, body: bytes, what: str, flags: int = 0) -> list[Message]:
        """Send a request (NLM_F_REQUEST|NLM_F_ACK|``flags``); its replies up to the acknowledgement."""
        return self._exchange(msg_type, NLM_F_REQUEST | NLM_F_ACK | flags, body, what)

    def dump(self, msg_type: int, body: bytes, what: str) -> list[Message]:
        """Send a dump request (NLM_F_REQUEST|NLM_F_DUMP); every message of its answer up to NLMSG_DONE."""
        return self._exchange(msg_type, NLM_F_REQUEST | NLM_F_DUMP, body, what)

    def _exchange(self, msg_type: int, flags: int, body: bytes, what: str) -> list[Message]:
        self._seq += 1
        try:
            self._sock.sendto(encode(msg_type, flags, self._seq, body), (0, 0))
        except OSError as e:
            raise NetlinkError(what, e.errno) if e.errno else NetworkError(f"{what}: {e}") from e
        return collect(self._datagrams(what), self._seq, what)

    def _datagrams(self, what: str) -> Iterator[bytes]:
        """The datagrams the kernel sends us, as they arrive."""
        while True:
            try:
                data, _ancillary, msg_flags, sender = self._sock.recvmsg(RECV_BUFFER)
            except TimeoutError as e:
                raise NetworkError(f"{what}: no answer from the kernel in {TIMEOUT:g} s") from e
            except OSError as e:
                raise NetlinkError(what, e.errno) if e.errno else NetworkError(f"{what}: {e}") from e
            if msg_flags & socket.MSG_TRUNC:
                raise NetworkError(f"{what}: a netlink datagram over {RECV_BUFFER} bytes")
            if sender[0] == 0:  # port 0: the kernel
                yield data

    def _label(self, index: int) -> str:
        return self._names.get(index, f"#{index}")

    # -- links

    def link_index(self, name: str) -> int | None:
        """The index of link ``name`` in the socket's namespace; None if there is none."""
        what = f"looking up link {name}"
        try:
            replies = self.request(RTM_GETLINK, ifinfomsg() + attr_str(IFLA_IFNAME, name), what)
        except NetlinkError as e:
            if e.errno == errno.ENODEV:
                return None
            raise
        for msg in replies:
            if msg.type == RTM_NEWLINK and len(msg.body) >= IFINFOMSG.size:
                index: int = IFINFOMSG.unpack_from(msg.body)[2]
                self._names[index] = name
                return index
        raise NetworkError(f"{what}: the kernel's answer has no link")

    def add_bridge(self, name: str) -> None:
        """Create bridge ``name`` (down, no address); EEXIST if a link has that name."""
        info = nested(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "bridge"))
        body = ifinfomsg() + attr_str(IFLA_IFNAME, name) + info
        self.request(RTM_NEWLINK, body, f"creating bridge {name}", NLM_F_CREATE | NLM_F_EXCL)

    def add_veth(self, name: str, peer: str, peer_netns_fd: int | None = None) -> None:
        """Create veth ``name`` here and its peer ``peer`` directly in the network namespace open as
        ``peer_netns_fd`` (here if None). Both are down."""
        peer_attrs = attr_str(IFLA_IFNAME, peer)
        if peer_netns_fd is not None:
            peer_attrs += attr_u32(IFLA_NET_NS_FD, peer_netns_fd)
        # VETH_INFO_PEER holds an ifinfomsg then attributes: not a plain nest, so no NLA_F_NESTED
        data = nested(IFLA_INFO_DATA, attr(VETH_INFO_PEER, ifinfomsg() + peer_attrs))
        info = nested(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "veth"), data)
        body = ifinfomsg() + attr_str(IFLA_IFNAME, name) + info
        self.request(RTM_NEWLINK, body, f"creating veth {name}", NLM_F_CREATE | NLM_F_EXCL)

    def set_link(
        self, index: int, *, master: int | None = None, address: str | bytes | None = None, up: bool | None = None
    ) -> None:
        """Change link ``index`` in one request: its master (a bridge's index; 0 to leave it), its MAC
        ``address`` ("02:42:0a:00:00:02" or 6 bytes), its up/down state. The kernel applies them in
        that order."""
        attrs = b""
        changes = []
        if master is not None:
            attrs += attr_u32(IFLA_MASTER, master)
            changes.append(f"master {self._label(master)}" if master else "no master")
        if address is not None:
            mac = _mac_bytes(address)
            attrs += attr(IFLA_ADDRESS, mac)
            changes.append(f"address {mac.hex(':')}")
        flags = change = 0
        if up is not None:
            flags, change = (IFF_UP if up else 0), IFF_UP
            changes.append("up" if up else "down")
        what = f"setting link {self._label(index)} ({', '.join(changes)})"
        self.request(RTM_SETLINK, ifinfomsg(index=index, flags=flags, change=change) + attrs, what)

    def set_hairpin(self, index: int, on: bool = True) -> None:
        """Hairpin mode of bridge port ``index`` (``bridge link set dev X hairpin on``): frames may go back
        out of the port they came in, so a container reaches its own published ports."""
        mode = nested(IFLA_PROTINFO, attr_u8(IFLA_BRPORT_MODE, int(on)))  # NLA_F_NESTED: a nest, not an STP state
        body = ifinfomsg(family=socket.AF_BRIDGE, index=index) + mode
        self.request(RTM_SETLINK, body, f"turning hairpin mode {'on' if on else 'off'} on {self._label(index)}")

    def delete_link(self, index: int) -> None:
        """Delete link ``index`` (a veth takes its peer along); ENODEV if there is none."""
        self.request(RTM_DELLINK, ifinfomsg(index=index), f"deleting link {self._label(index)}")

    # -- addresses and routes

    def addresses(self, index: int) -> list[ipaddress.IPv4Interface]:
        """The IPv4 addresses of link ``index``, with their prefix lengths."""
        body = IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, index)
        found = []
        for msg in self.dump(RTM_GETADDR, body, f"listing the addresses of {self._label(index)}"):
            if msg.type != RTM_NEWADDR or len(msg.body) < IFADDRMSG.size:
                continue
            family, prefixlen, _flags, _scope, at = IFADDRMSG.unpack_from(msg.body)
            if family != socket.AF_INET or at != index:
                continue
            attrs = parse_attrs(msg.body[IFADDRMSG.size :])
            local = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if local is not None and len(local) == 4:
                found.append(ipaddress.IPv4Interface((local, prefixlen)))
        return found

    def add_address(self, index: int, address: ipaddress.IPv4Address, prefixlen: int) -> None:
        """Add ``address/prefixlen`` to link ``index`` (with its broadcast address, as docker has);
        EEXIST if the link has it."""
        attrs = attr(IFA_LOCAL, address.packed) + attr(IFA_ADDRESS, address.packed)
        if prefixlen < 31:
            network = ipaddress.IPv4Network((address, prefixlen), strict=False)
            attrs += attr(IFA_BROADCAST, network.broadcast_address.packed)
        body = IFADDRMSG.pack(socket.AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index) + attrs
        what = f"adding {address}/{prefixlen} to link {self._label(index)}"
        self.request(RTM_NEWADDR, body, what, NLM_F_CREATE | NLM_F_EXCL)

    def neighbours(self, index: int, states: int = NUD_LIVE) -> list[ipaddress.IPv4Address]:
        """The IPv4 neighbours (ARP entries) on link ``index`` whose state is one of ``states``."""
        # a strictly checked dump takes its filter as an attribute: a header's index is refused (EINVAL)
        body = NDMSG.pack(socket.AF_INET, 0, 0, 0, 0) + attr_u32(NDA_IFINDEX, index)
        found = []
        for msg in self.dump(RTM_GETNEIGH, body, f"listing the neighbours on {self._label(index)}"):
            if msg.type != RTM_NEWNEIGH or len(msg.body) < NDMSG.size:
                continue
            family, at, state, _flags, _type = NDMSG.unpack_from(msg.body)
            if family != socket.AF_INET or at != index or not state & states:
                continue
            dst = parse_attrs(msg.body[NDMSG.size :]).get(NDA_DST)
            if dst is not None and len(dst) == 4:
                found.append(ipaddress.IPv4Address(dst))
        return found

    def add_default_route(self, gateway: ipaddress.IPv4Address, index: int | None = None) -> None:
        """The IPv4 default route of the main table via ``gateway`` (through link ``index`` if given);
        EEXIST if there is a default route."""
        body = RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
        body += attr(RTA_GATEWAY, gateway.packed)
        if index is not None:
            body += attr_u32(RTA_OIF, index)
        where = f" on {self._label(index)}" if index is not None else ""
        self.request(RTM_NEWROUTE, body, f"adding a default route via {gateway}{where}", NLM_F_CREATE | NLM_F_EXCL)
