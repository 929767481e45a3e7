"""geedocker.network.rtnl_messages: rtnetlink messages packed and parsed by hand, and an answer collected."""

from __future__ import annotations

import os
import socket
import struct

import pytest

from geedocker.errors import NetworkError
from geedocker.network import rtnl_messages as wire
from geedocker.network.rtnl_messages import Message
from tests.support.rtnl_replies import kernel_ack, kernel_done, kernel_newaddr


def test_attributes_are_padded_to_four_bytes_and_their_length_excludes_the_padding() -> None:
    assert wire.attr_str(wire.IFLA_IFNAME, "eth0") == b"\x09\x00\x03\x00eth0\x00\x00\x00\x00"
    assert wire.attr_u8(wire.IFLA_BRPORT_MODE, 1) == b"\x05\x00\x04\x00\x01\x00\x00\x00"
    assert wire.attr_u32(wire.IFLA_MASTER, 7) == b"\x08\x00\x0a\x00" + struct.pack("=I", 7)
    assert wire.attr(wire.IFA_LOCAL, bytes([10, 0, 0, 1])) == b"\x08\x00\x02\x00\x0a\x00\x00\x01"
    assert wire.attr(9, b"") == b"\x04\x00\x09\x00"
    assert [wire.align(n) for n in (0, 1, 4, 5, 8, 9)] == [0, 4, 4, 8, 8, 12]


def test_nested_attributes_carry_nla_f_nested_and_parse_back() -> None:
    inner = wire.attr_str(wire.IFLA_INFO_KIND, "bridge")  # 4 + 7 bytes, padded to 12
    outer = wire.nested(wire.IFLA_LINKINFO, inner)
    assert outer[:4] == struct.pack("=HH", 16, wire.IFLA_LINKINFO | wire.NLA_F_NESTED)
    assert outer[4:] == inner
    attrs = wire.parse_attrs(wire.attr_str(wire.IFLA_IFNAME, "br0") + outer)
    assert attrs[wire.IFLA_IFNAME] == b"br0\0"
    assert wire.parse_attrs(attrs[wire.IFLA_LINKINFO]) == {wire.IFLA_INFO_KIND: b"bridge\0"}


def test_malformed_attributes_and_messages_are_refused() -> None:
    with pytest.raises(NetworkError, match="malformed netlink attribute"):
        wire.parse_attrs(struct.pack("=HH", 12, 1) + b"ab")  # says 12 bytes, has 6
    with pytest.raises(NetworkError, match="malformed netlink attribute"):
        wire.parse_attrs(struct.pack("=HH", 2, 1))  # shorter than its own header
    with pytest.raises(NetworkError, match="malformed netlink message"):
        wire.parse_messages(wire.NLMSGHDR.pack(40, wire.NLMSG_DONE, 0, 1, 0) + b"\0" * 8)
    with pytest.raises(NetworkError, match="malformed netlink message"):
        wire.parse_messages(kernel_ack(1) + b"\0" * 6)  # a truncated header after the ack


def test_a_request_is_a_16_byte_header_then_the_body() -> None:
    msg = wire.encode(wire.RTM_DELLINK, wire.NLM_F_REQUEST | wire.NLM_F_ACK, 9, wire.ifinfomsg(index=3))
    assert len(msg) == 32
    assert wire.NLMSGHDR.unpack_from(msg) == (32, wire.RTM_DELLINK, 5, 9, 0)
    assert wire.IFINFOMSG.unpack_from(msg, 16) == (socket.AF_UNSPEC, 0, 3, 0, 0)
    assert wire.IFINFOMSG.size == 16 and wire.IFADDRMSG.size == 8 and wire.RTMSG.size == 12
    assert wire.parse_messages(msg) == [Message(wire.RTM_DELLINK, 5, 9, wire.ifinfomsg(index=3))]


def test_an_error_ack_raises_with_the_errno_the_operation_and_the_kernel_text() -> None:
    text = wire.attr(wire.NLMSGERR_ATTR_MSG, b"Attribute failed policy validation\0")
    ack = kernel_ack(5, -34, wire.NLM_F_CAPPED | wire.NLM_F_ACK_TLVS, text)
    assert wire.parse_error(wire.parse_messages(ack)[0]) == (34, "Attribute failed policy validation")
    with pytest.raises(wire.NetlinkError) as caught:
        wire.collect([ack], 5, "creating bridge gdrtx")
    assert caught.value.errno == 34
    assert caught.value.operation == "creating bridge gdrtx"
    assert str(caught.value) == f"creating bridge gdrtx: {os.strerror(34)} (Attribute failed policy validation)"
    plain = kernel_ack(6, -17)
    with pytest.raises(wire.NetlinkError, match="^deleting: File exists$") as caught:
        wire.collect([plain], 6, "deleting")
    assert caught.value.errno == 17 and isinstance(caught.value, NetworkError)


def test_an_uncapped_error_ack_skips_the_whole_echoed_request_to_its_tlvs() -> None:
    request = wire.encode(wire.RTM_NEWLINK, 0x605, 3, wire.ifinfomsg() + wire.attr_str(wire.IFLA_IFNAME, "gdrt0"))
    tlvs = wire.attr(wire.NLMSGERR_ATTR_MSG, b"Unknown device type\0") + wire.attr_u32(2, 36)
    body = wire.NLMSGERR.pack(-95) + request + tlvs
    msg = wire.parse_messages(wire.encode(wire.NLMSG_ERROR, wire.NLM_F_ACK_TLVS, 3, body))[0]
    assert wire.parse_error(msg) == (95, "Unknown device type")


def test_a_positive_ack_returns_the_replies_before_it_and_skips_other_sequence_numbers() -> None:
    link = wire.encode(wire.RTM_NEWLINK, 0, 4, wire.ifinfomsg(index=12))
    stale = kernel_ack(3, -19)  # the answer to an earlier request: not ours
    noop = wire.encode(wire.NLMSG_NOOP, 0, 4, b"")
    assert wire.collect([stale + link, noop + kernel_ack(4)], 4, "x") == [
        Message(wire.RTM_NEWLINK, 0, 4, wire.ifinfomsg(index=12))
    ]


def test_a_multipart_dump_is_read_across_datagrams_up_to_done() -> None:
    first = kernel_newaddr(7, 2, "10.1.0.1", 24) + kernel_newaddr(7, 3, "10.2.0.1", 16)
    second = kernel_newaddr(7, 2, "10.1.0.9", 24) + kernel_done(7)
    replies = wire.collect(iter([first, second, kernel_ack(99)]), 7, "listing")
    assert [m.type for m in replies] == [wire.RTM_NEWADDR] * 3
    assert [wire.IFADDRMSG.unpack_from(m.body)[4] for m in replies] == [2, 3, 2]
    with pytest.raises(wire.NetlinkError, match="^listing: Invalid argument$"):
        wire.collect([first, kernel_done(7, -22)], 7, "listing")  # a dump that failed halfway
    with pytest.raises(NetworkError, match="ended early"):
        wire.collect([first], 7, "listing")
    with pytest.raises(NetworkError, match="over 100 bytes"):
        wire.collect(iter([first] * 10), 7, "listing", limit=100)
