"""Kernel answers built by hand for the rtnetlink tests (``tests/network/test_rtnl*.py``): acks, the end of a
dump, an address; packed as the kernel packs them."""

from __future__ import annotations

import ipaddress
import socket

from geedocker.network import rtnl_messages as wire


def kernel_ack(seq: int, error: int = 0, flags: int = 0, tlvs: bytes = b"") -> bytes:
    """An NLMSG_ERROR as the kernel sends it with NETLINK_CAP_ACK: error, the request's header, TLVs."""
    echoed = wire.NLMSGHDR.pack(32, wire.RTM_NEWLINK, 0x605, seq, 4242)
    return wire.encode(wire.NLMSG_ERROR, flags, seq, wire.NLMSGERR.pack(error) + echoed + tlvs)


def kernel_done(seq: int, error: int = 0) -> bytes:
    return wire.encode(wire.NLMSG_DONE, wire.NLM_F_MULTI, seq, wire.NLMSGERR.pack(error))


def kernel_newaddr(seq: int, index: int, address: str, prefixlen: int, family: int = socket.AF_INET) -> bytes:
    packed = ipaddress.ip_address(address).packed
    body = wire.IFADDRMSG.pack(family, prefixlen, 0x80, 0, index)
    body += wire.attr(wire.IFA_ADDRESS, packed) + wire.attr(wire.IFA_LOCAL, packed) + wire.attr_str(3, "eth0")
    return wire.encode(wire.RTM_NEWADDR, wire.NLM_F_MULTI, seq, body)
