"""rtnetlink's wire format, as :mod:`geedocker.network.rtnl` speaks it: the kernel's constants and structures,
attributes and messages packed and parsed by hand, and the answer to one request collected from datagrams.

Only ``struct`` (and ``socket``'s constants): the kernel's structures (``linux/netlink.h``, ``linux/rtnetlink.h``,
``linux/if_link.h``) are::

    nlmsghdr   16 bytes  length, type, flags, sequence number, port id
    ifinfomsg  16 bytes  family, pad, device type, index, flags, change mask     (RTM_*LINK)
    ifaddrmsg   8 bytes  family, prefix length, flags, scope, index               (RTM_*ADDR)
    rtmsg      12 bytes  family, dst/src length, tos, table, protocol, scope, type, flags  (RTM_*ROUTE)
    ndmsg      12 bytes  family, pad, index, state, flags, type                   (RTM_*NEIGH)
    rtattr      4 bytes  length, type; then the payload, padded to 4 bytes

A refusal in an answer raises :class:`NetlinkError` (a :class:`~geedocker.errors.NetworkError`) whose message
names the operation and the kernel's error (with its extended-ack text when it gives one) and whose ``errno``
attribute keeps the number, for callers that tolerate EEXIST or ENODEV.

Apart from ``rtnl`` (the socket and the requests made over it): this is pure computation on bytes, tested
without a socket or root.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterable
from typing import NamedTuple

from geedocker.errors import NetworkError

# linux/netlink.h
NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3

NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300  # NLM_F_ROOT | NLM_F_MATCH
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_CAPPED = 0x100  # on an NLMSG_ERROR: the echoed request is only its header
NLM_F_ACK_TLVS = 0x200  # on an NLMSG_ERROR: attributes follow the echoed request

NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF
NLMSGERR_ATTR_MSG = 1

# linux/rtnetlink.h
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_SETLINK = 19
RTM_NEWADDR = 20
RTM_GETADDR = 22
RTM_NEWROUTE = 24
RTM_NEWNEIGH = 28
RTM_GETNEIGH = 30

RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1
RTA_OIF = 4
RTA_GATEWAY = 5

# linux/if_link.h, linux/veth.h, linux/if_addr.h
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MASTER = 10
IFLA_PROTINFO = 12
IFLA_LINKINFO = 18
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
IFLA_BRPORT_MODE = 4  # hairpin mode
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_BROADCAST = 4
IFF_UP = 0x1
NDA_DST = 1  # linux/neighbour.h
NDA_IFINDEX = 8
NUD_LIVE = 0x02 | 0x08 | 0x10 | 0x40 | 0x80  # REACHABLE, DELAY, PROBE, NOARP, PERMANENT (not STALE or FAILED)

NLMSGHDR = struct.Struct("=IHHII")  # nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid
IFINFOMSG = struct.Struct("=BxHiII")  # ifi_family, pad, ifi_type, ifi_index, ifi_flags, ifi_change
IFADDRMSG = struct.Struct("=BBBBI")  # ifa_family, ifa_prefixlen, ifa_flags, ifa_scope, ifa_index
RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
NDMSG = struct.Struct("=BxxxiHBB")  # ndm_family, pad, ndm_ifindex, ndm_state, ndm_flags, ndm_type
RTATTR = struct.Struct("=HH")  # rta_len, rta_type
NLMSGERR = struct.Struct("=i")  # error (negative errno, 0 for an ack); the request's nlmsghdr follows
U8 = struct.Struct("=B")
U32 = struct.Struct("=I")

MAX_REPLY_BYTES = 4 << 20  # all the datagrams of one answer


class NetlinkError(NetworkError):
    """The kernel refused a request. ``errno`` is its error number, ``operation`` what was asked and
    ``detail`` the kernel's extended-ack message (often empty)."""

    def __init__(self, operation: str, code: int, detail: str = "") -> None:
        super().__init__(f"{operation}: {os.strerror(code)}{f' ({detail})' if detail else ''}")
        self.operation = operation
        self.errno = code
        self.detail = detail


class Message(NamedTuple):
    """One netlink message: the header's type, flags and sequence number, and what follows the header."""

    type: int
    flags: int
    seq: int
    body: bytes


def align(n: int) -> int:
    """``n`` rounded up to netlink's 4-byte alignment (NLMSG_ALIGN, RTA_ALIGN)."""
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    """An rtattr: length (header + payload, without padding), type, payload, zeros up to 4 bytes."""
    length = RTATTR.size + len(payload)
    return RTATTR.pack(length, kind) + payload + b"\0" * (align(length) - length)


def attr_str(kind: int, value: str) -> bytes:
    """A NUL-terminated string attribute (names, kinds)."""
    return attr(kind, value.encode() + b"\0")


def attr_u8(kind: int, value: int) -> bytes:
    return attr(kind, U8.pack(value))


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, U32.pack(value))


def nested(kind: int, *attrs: bytes) -> bytes:
    """An attribute holding attributes, flagged NLA_F_NESTED."""
    return attr(kind | NLA_F_NESTED, b"".join(attrs))


def parse_attrs(data: bytes) -> dict[int, bytes]:
    """The attributes in ``data`` by type (flags masked off; the last of a repeated type wins)."""
    attrs: dict[int, bytes] = {}
    offset = 0
    while offset + RTATTR.size <= len(data):
        length, kind = RTATTR.unpack_from(data, offset)
        if length < RTATTR.size or offset + length > len(data):
            raise NetworkError(f"malformed netlink attribute: length {length} at offset {offset} of {len(data)}")
        attrs[kind & NLA_TYPE_MASK] = data[offset + RTATTR.size : offset + length]
        offset += align(length)
    return attrs


def ifinfomsg(family: int = socket.AF_UNSPEC, index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return IFINFOMSG.pack(family, 0, index, flags, change)


def encode(msg_type: int, flags: int, seq: int, body: bytes) -> bytes:
    """A netlink message: the nlmsghdr (port id 0: the kernel fills in ours) and ``body``, padded."""
    body += b"\0" * (align(len(body)) - len(body))
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), msg_type, flags, seq, 0) + body


def parse_messages(data: bytes) -> list[Message]:
    """The messages of one datagram (the kernel packs several into one, each 4-byte aligned)."""
    messages = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < NLMSGHDR.size:
            raise NetworkError(f"malformed netlink message: {len(data) - offset} bytes left at offset {offset}")
        length, kind, flags, seq, _port = NLMSGHDR.unpack_from(data, offset)
        if length < NLMSGHDR.size or offset + length > len(data):
            raise NetworkError(f"malformed netlink message: length {length} at offset {offset} of {len(data)}")
        messages.append(Message(kind, flags, seq, data[offset + NLMSGHDR.size : offset + length]))
        offset += align(length)
    return messages


def parse_error(msg: Message) -> tuple[int, str]:
    """The errno of an NLMSG_ERROR message (0: an acknowledgement) and the kernel's extended-ack text."""
    if len(msg.body) < NLMSGERR.size + NLMSGHDR.size:
        raise NetworkError(f"malformed netlink error message of {len(msg.body)} bytes")
    (error,) = NLMSGERR.unpack_from(msg.body)
    text = ""
    if msg.flags & NLM_F_ACK_TLVS:
        echoed = NLMSGHDR.size if msg.flags & NLM_F_CAPPED else align(NLMSGHDR.unpack_from(msg.body, NLMSGERR.size)[0])
        raw = parse_attrs(msg.body[NLMSGERR.size + echoed :]).get(NLMSGERR_ATTR_MSG, b"")
        text = raw.split(b"\0", 1)[0].decode(errors="replace")
    return -error, text


def collect(datagrams: Iterable[bytes], seq: int, what: str, limit: int = MAX_REPLY_BYTES) -> list[Message]:
    """The answer to request ``seq``, read from ``datagrams`` up to its end: the acknowledgement
    (NLMSG_ERROR with error 0) or, for a dump, NLMSG_DONE. The messages before it are returned; an error
    raises :class:`NetlinkError`; messages with another sequence number (a stale answer) are skipped."""
    replies: list[Message] = []
    size = 0
    for data in datagrams:
        size += len(data)
        if size > limit:
            raise NetworkError(f"{what}: the kernel's answer is over {limit} bytes")
        for msg in parse_messages(data):
            if msg.seq != seq:
                continue
            if msg.type == NLMSG_ERROR:
                code, text = parse_error(msg)
                if code:
                    raise NetlinkError(what, code, text)
                return replies
            if msg.type == NLMSG_DONE:
                code = -NLMSGERR.unpack_from(msg.body)[0] if len(msg.body) >= NLMSGERR.size else 0
                if code:
                    raise NetlinkError(what, code)
                return replies
            if msg.type != NLMSG_NOOP:
                replies.append(msg)
    raise NetworkError(f"{what}: the kernel's answer ended early")

