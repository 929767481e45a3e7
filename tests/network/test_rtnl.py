"""geedocker.network.rtnl: requests encoded as iproute2 does and answers decoded, on a stand-in socket; and, as
root, bridges, veths, addresses and routes made in network namespaces the tests create (never in the host's),
cross-checked with pyroute2 and ``ip -j``, and traffic between two "containers" on a bridge. The wire format
alone: test_rtnl_messages."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

from geedocker.errors import NetworkError
from geedocker.network import netlink, rtnl
from geedocker.network import rtnl_messages as wire
from geedocker.network.ipam import mac_for
from geedocker.network.rtnl_messages import Message
from geedocker.runtime import syscalls
from tests.support.rtnl_replies import kernel_ack, kernel_done, kernel_newaddr

T = TypeVar("T")
IP = ipaddress.IPv4Address


# -- requests and answers on a stand-in socket (no root)


class FakeKernel:
    """A stand-in for a NETLINK_ROUTE socket: records each request, answers with ``answer(request)``."""

    def __init__(self, answer: Callable[[Message], list[bytes]] | None = None) -> None:
        self.requests: list[Message] = []
        self.answer = answer or (lambda m: [kernel_ack(m.seq)])
        self.queue: list[tuple[bytes, tuple[int, int]]] = []

    def sendto(self, data: bytes, address: tuple[int, int]) -> int:
        assert address == (0, 0)
        (msg,) = wire.parse_messages(data)
        self.requests.append(msg)
        self.queue += [(d, (0, 0)) for d in self.answer(msg)]
        return len(data)

    def recvmsg(self, bufsize: int) -> tuple[bytes, list[Any], int, tuple[int, int]]:
        data, sender = self.queue.pop(0)
        return data, [], 0, sender

    def close(self) -> None:
        pass


def _rtnl(kernel: FakeKernel) -> rtnl.Rtnl:
    return rtnl.Rtnl(sock=cast(socket.socket, kernel))


def test_requests_are_encoded_as_iproute2_does() -> None:
    kernel = FakeKernel()
    nl = _rtnl(kernel)
    nl.set_hairpin(5)
    nl.add_bridge("gdrtbr")
    nl.add_veth("gdrtv", "eth0", peer_netns_fd=9)
    nl.set_link(5, master=4, address="02:42:0a:00:00:02", up=True)
    nl.add_address(5, IP("10.1.2.3"), 24)
    nl.add_default_route(IP("10.1.2.1"), 5)
    nl.delete_link(5)
    hairpin, bridge, veth, setlink, newaddr, route, dellink = kernel.requests
    assert [m.seq for m in kernel.requests] == [1, 2, 3, 4, 5, 6, 7]
    ack = wire.NLM_F_REQUEST | wire.NLM_F_ACK
    new = ack | wire.NLM_F_CREATE | wire.NLM_F_EXCL

    # bridge link set dev X hairpin on: AF_BRIDGE, IFLA_PROTINFO|NLA_F_NESTED { IFLA_BRPORT_MODE u8 1 }
    assert (hairpin.type, hairpin.flags) == (wire.RTM_SETLINK, ack)
    assert hairpin.body == (
        struct.pack("=BxHiII", socket.AF_BRIDGE, 0, 5, 0, 0)
        + struct.pack("=HH", 12, wire.IFLA_PROTINFO | wire.NLA_F_NESTED)
        + struct.pack("=HHB3x", 5, wire.IFLA_BRPORT_MODE, 1)
    )

    assert (bridge.type, bridge.flags) == (wire.RTM_NEWLINK, new)
    attrs = wire.parse_attrs(bridge.body[16:])
    assert attrs[wire.IFLA_IFNAME] == b"gdrtbr\0"
    assert wire.parse_attrs(attrs[wire.IFLA_LINKINFO]) == {wire.IFLA_INFO_KIND: b"bridge\0"}

    assert (veth.type, veth.flags) == (wire.RTM_NEWLINK, new)
    attrs = wire.parse_attrs(veth.body[16:])
    info = wire.parse_attrs(attrs[wire.IFLA_LINKINFO])
    assert attrs[wire.IFLA_IFNAME] == b"gdrtv\0" and info[wire.IFLA_INFO_KIND] == b"veth\0"
    peer = wire.parse_attrs(info[wire.IFLA_INFO_DATA])[wire.VETH_INFO_PEER]
    assert peer[:16] == wire.ifinfomsg()  # the peer's ifinfomsg, then its attributes
    assert wire.parse_attrs(peer[16:]) == {wire.IFLA_IFNAME: b"eth0\0", wire.IFLA_NET_NS_FD: struct.pack("=I", 9)}

    assert (setlink.type, setlink.flags) == (wire.RTM_SETLINK, ack)
    assert wire.IFINFOMSG.unpack_from(setlink.body) == (0, 0, 5, wire.IFF_UP, wire.IFF_UP)
    assert wire.parse_attrs(setlink.body[16:]) == {
        wire.IFLA_MASTER: struct.pack("=I", 4),
        wire.IFLA_ADDRESS: bytes.fromhex("02420a000002"),
    }

    assert (newaddr.type, newaddr.flags) == (wire.RTM_NEWADDR, new)
    assert wire.IFADDRMSG.unpack_from(newaddr.body) == (socket.AF_INET, 24, 0, 0, 5)
    assert wire.parse_attrs(newaddr.body[8:]) == {
        wire.IFA_LOCAL: bytes([10, 1, 2, 3]),
        wire.IFA_ADDRESS: bytes([10, 1, 2, 3]),
        wire.IFA_BROADCAST: bytes([10, 1, 2, 255]),
    }

    assert (route.type, route.flags) == (wire.RTM_NEWROUTE, new)
    assert wire.RTMSG.unpack_from(route.body) == (socket.AF_INET, 0, 0, 0, 254, wire.RTPROT_BOOT, 0, 1, 0)
    assert wire.parse_attrs(route.body[12:]) == {
        wire.RTA_GATEWAY: bytes([10, 1, 2, 1]),
        wire.RTA_OIF: struct.pack("=I", 5),
    }

    assert (dellink.type, dellink.flags, dellink.body) == (wire.RTM_DELLINK, ack, wire.ifinfomsg(index=5))


def test_link_lookup_and_address_listing_decode_the_kernels_answers() -> None:
    def answer(m: Message) -> list[bytes]:
        if m.type == wire.RTM_GETLINK:
            name = wire.parse_attrs(m.body[16:])[wire.IFLA_IFNAME]
            if name != b"gdrtbr\0":
                return [kernel_ack(m.seq, -19)]
            reply = wire.ifinfomsg(index=4, flags=wire.IFF_UP) + wire.attr_str(wire.IFLA_IFNAME, "gdrtbr")
            return [wire.encode(wire.RTM_NEWLINK, 0, m.seq, reply), kernel_ack(m.seq)]
        assert m.type == wire.RTM_GETADDR and m.flags == wire.NLM_F_REQUEST | wire.NLM_F_DUMP
        assert wire.IFADDRMSG.unpack_from(m.body) == (socket.AF_INET, 0, 0, 0, 4)
        return [
            # the second is on another link: skipped
            kernel_newaddr(m.seq, 4, "10.3.0.1", 24) + kernel_newaddr(m.seq, 8, "10.4.0.1", 24),
            kernel_newaddr(m.seq, 4, "10.5.0.1", 16),
            kernel_done(m.seq),
        ]

    kernel = FakeKernel(answer)
    kernel.queue.append((kernel_ack(0), (77, 0)))  # from another process, not the kernel: skipped
    nl = _rtnl(kernel)
    assert nl.link_index("gdrtnone") is None
    assert nl.link_index("gdrtbr") == 4
    assert nl.addresses(4) == [ipaddress.IPv4Interface("10.3.0.1/24"), ipaddress.IPv4Interface("10.5.0.1/16")]
    kernel.answer = lambda m: [kernel_ack(m.seq, -17)]
    with pytest.raises(wire.NetlinkError, match=r"^adding 10.3.0.1/24 to link gdrtbr: File exists$"):
        nl.add_address(4, IP("10.3.0.1"), 24)  # error messages name links looked up by name
    with pytest.raises(wire.NetlinkError, match=r"^setting link gdrtbr \(master #9, up\): File exists$"):
        nl.set_link(4, master=9, up=True)
    with pytest.raises(NetworkError, match="invalid MAC address 'zz'"):
        nl.set_link(4, address="zz")


# -- the kernel (root), in namespaces the tests make


def _name(tag: str) -> str:
    return f"gdrt{tag}{secrets.token_hex(3)}"  # at most 15 characters


@pytest.fixture
def make_netns(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Network namespaces pinned under tmp_path, removed (with every link in them) at teardown."""
    made: list[Path] = []

    def make(tag: str) -> Path:
        path = tmp_path / f"netns-{tag}"
        netlink.create_netns(path)
        made.append(path)
        return path

    try:
        yield make
    finally:
        for path in reversed(made):
            netlink.delete_netns(path)


def _thread_netns() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def in_netns(path: Path, fn: Callable[[], T]) -> T:
    """``fn()`` on a thread that has entered the network namespace ``path`` (network namespaces are per
    thread): netlink's functions, which act on the caller's namespace, then act on the test's namespace."""
    result: list[T] = []
    errors: list[BaseException] = []

    def body() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                syscalls.setns(fd, syscalls.CLONE_NEWNET)
            finally:
                os.close(fd)
            assert _thread_netns() == os.stat(path).st_ino
            result.append(fn())
        except BaseException as e:  # noqa: BLE001 - handed to the test's thread
            errors.append(e)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def _ip_json(netns: Path, *args: str) -> Any:
    out = subprocess.run(["nsenter", f"--net={netns}", "ip", "-d", "-j", *args], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return json.loads(out)


@pytest.mark.root
def test_rtnl_makes_a_bridge_and_a_veth_whose_peer_is_born_in_another_namespace(
    make_netns: Callable[[str], Path],
) -> None:
    from pyroute2 import IPRoute

    host, box = make_netns("host"), make_netns("box")
    bridge, veth = _name("br"), _name("v")
    before = _thread_netns()
    with rtnl.Rtnl(host) as nl:
        assert _thread_netns() == before  # the socket is in `host`; this thread is back in its own
        assert nl.link_index(bridge) is None
        nl.add_bridge(bridge)
        br = nl.link_index(bridge)
        assert br is not None
        nl.add_address(br, IP("10.231.7.1"), 24)
        nl.set_link(br, up=True)
        assert nl.addresses(br) == [ipaddress.IPv4Interface("10.231.7.1/24")]
        fd = os.open(box, os.O_RDONLY | os.O_CLOEXEC)
        try:
            nl.add_veth(veth, "eth0", peer_netns_fd=fd)
        finally:
            os.close(fd)
        index = nl.link_index(veth)
        assert index is not None
        nl.set_link(index, master=br, up=True)
        nl.set_hairpin(index)
    with rtnl.Rtnl(box) as ns:
        peer = ns.link_index("eth0")
        assert peer is not None
        ns.set_link(peer, address="02:42:0a:e7:07:02")
        ns.add_address(peer, IP("10.231.7.2"), 24)
        ns.set_link(peer, up=True)
        ns.add_default_route(IP("10.231.7.1"), peer)

    with IPRoute(netns=str(host)) as ipr:
        (b,) = ipr.link("get", index=br)
        assert b.get("ifname") == bridge and b.get(("linkinfo", "kind")) == "bridge"
        assert b["flags"] & wire.IFF_UP
        assert [(a.get("address"), a["prefixlen"], a.get("broadcast")) for a in ipr.get_addr(index=br, family=2)] == [
            ("10.231.7.1", 24, "10.231.7.255")
        ]
        (v,) = ipr.link("get", index=index)
        assert v.get("ifname") == veth and v.get(("linkinfo", "kind")) == "veth"
        assert v.get("master") == br and v["flags"] & wire.IFF_UP
        assert v.get(("linkinfo", "slave_kind")) == "bridge"
        assert v.get(("linkinfo", "slave_data")).get("IFLA_BRPORT_MODE") == 1
        assert {link.get("ifname") for link in ipr.get_links()} == {"lo", bridge, veth}  # no eth0 here
    (shown,) = _ip_json(host, "link", "show", "dev", veth)
    assert shown["master"] == bridge and shown["linkinfo"]["info_slave_data"]["hairpin"] is True
    with IPRoute(netns=str(box)) as ipr:
        (e,) = ipr.link("get", index=peer)
        assert e.get("ifname") == "eth0" and e.get("address") == "02:42:0a:e7:07:02" and e["flags"] & wire.IFF_UP
        assert [(a.get("address"), a["prefixlen"]) for a in ipr.get_addr(index=peer, family=2)] == [("10.231.7.2", 24)]
        (default,) = [r for r in ipr.get_routes(family=2, table=254) if r["dst_len"] == 0]
        assert default.get("gateway") == "10.231.7.1" and default.get("oif") == peer
        assert (default["proto"], default["scope"], default["type"]) == (wire.RTPROT_BOOT, 0, wire.RTN_UNICAST)

    with rtnl.Rtnl(host) as nl:
        nl.delete_link(index)  # the peer goes too
        assert nl.link_index(veth) is None
    with rtnl.Rtnl(box) as ns:
        assert ns.link_index("eth0") is None


@pytest.mark.root
def test_errors_name_the_operation_and_keep_the_errno(make_netns: Callable[[str], Path], tmp_path: Path) -> None:
    host = make_netns("host")
    bridge = _name("br")
    with rtnl.Rtnl(host) as nl:
        nl.add_bridge(bridge)
        with pytest.raises(wire.NetlinkError, match=f"^creating bridge {bridge}: File exists$") as caught:
            nl.add_bridge(bridge)
        assert caught.value.errno == 17
        with pytest.raises(wire.NetlinkError, match="^deleting link #4242: No such device$") as caught:
            nl.delete_link(4242)
        assert caught.value.errno == 19
        br = nl.link_index(bridge)
        assert br is not None
        nl.add_address(br, IP("10.231.8.1"), 24)
        with pytest.raises(wire.NetlinkError, match=f"^adding 10.231.8.1/24 to link {bridge}: File exists"):
            nl.add_address(br, IP("10.231.8.1"), 24)
        with pytest.raises(wire.NetlinkError, match="creating bridge gdrt-much-too-long-a-name") as caught:
            nl.add_bridge("gdrt-much-too-long-a-name")
        assert caught.value.errno == 34 and caught.value.detail  # the kernel's extended ack text
        with pytest.raises(wire.NetlinkError, match=f"^turning hairpin mode on on {bridge}: ") as caught:
            nl.set_hairpin(br)  # a bridge is not a bridge port
    with pytest.raises(NetworkError, match="^opening a netlink socket in .*nowhere: No such file or directory$"):
        rtnl.Rtnl(tmp_path / "nowhere")


@pytest.mark.root
def test_netlink_functions_build_the_containers_network_in_the_callers_namespace(
    make_netns: Callable[[str], Path],
) -> None:
    from pyroute2 import IPRoute

    host, box = make_netns("host"), make_netns("box")
    bridge, veth = _name("br"), _name("v")
    gateway = IP("10.231.9.1")

    def build() -> None:
        netlink.ensure_bridge(bridge, gateway, 24)
        netlink.ensure_bridge(bridge, gateway, 24)  # again: nothing to do
        netlink.add_veth(host_name=veth, bridge=bridge, netns=box, ifname="eth0", address=IP("10.231.9.2"),
                         prefixlen=24, mac=mac_for(IP("10.231.9.2")), gateway=gateway)  # fmt: skip

    in_netns(host, build)
    with IPRoute(netns=str(host)) as ipr:
        (b,) = ipr.link("get", ifname=bridge)
        assert b["flags"] & wire.IFF_UP and b.get(("linkinfo", "kind")) == "bridge"
        assert [(a.get("address"), a["prefixlen"]) for a in ipr.get_addr(index=b["index"], family=2)] == [
            ("10.231.9.1", 24)
        ]
        (v,) = ipr.link("get", ifname=veth)
        assert v.get("master") == b["index"] and v["flags"] & wire.IFF_UP
        assert v.get(("linkinfo", "slave_data")).get("IFLA_BRPORT_MODE") == 1
    sysctl = ["nsenter", f"--net={host}", "cat", f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet"]
    assert subprocess.run(sysctl, capture_output=True, text=True, check=True).stdout.strip() == "1"
    with IPRoute(netns=str(box)) as ipr:
        (e,) = ipr.link("get", ifname="eth0")
        assert e.get("address") == "02:42:0a:e7:09:02" and e["flags"] & wire.IFF_UP
        assert [(a.get("address"), a["prefixlen"]) for a in ipr.get_addr(index=e["index"], family=2)] == [
            ("10.231.9.2", 24)
        ]
        assert [r.get("gateway") for r in ipr.get_routes(family=2, table=254) if r["dst_len"] == 0] == ["10.231.9.1"]

    assert in_netns(host, lambda: netlink.delete_link(veth)) is True
    assert in_netns(host, lambda: netlink.delete_link(veth)) is False
    with IPRoute(netns=str(box)) as ipr:
        assert [link.get("ifname") for link in ipr.get_links()] == ["lo"]


@pytest.mark.root
def test_add_veth_removes_the_pair_when_it_fails(make_netns: Callable[[str], Path]) -> None:
    host, box = make_netns("host"), make_netns("box")
    bridge, veth = _name("br"), _name("v")

    def with_mac(mac: str) -> None:
        netlink.add_veth(host_name=veth, bridge=bridge, netns=box, ifname="eth0", address=IP("10.231.10.2"),
                         prefixlen=24, mac=mac, gateway=None)  # fmt: skip

    with pytest.raises(NetworkError, match=f"^bridge {bridge} does not exist$"):
        in_netns(host, lambda: with_mac("02:42:0a:e7:0a:02"))
    in_netns(host, lambda: netlink.ensure_bridge(bridge, IP("10.231.10.1"), 24))
    with pytest.raises(wire.NetlinkError, match=f"^configuring eth0 in {box}: setting link eth0 ") as caught:
        in_netns(host, lambda: with_mac("ff:ff:ff:ff:ff:ff"))  # a multicast MAC: refused in the namespace
    assert caught.value.errno == 99  # EADDRNOTAVAIL
    with rtnl.Rtnl(host) as nl, rtnl.Rtnl(box) as ns:
        assert nl.link_index(veth) is None and ns.link_index("eth0") is None  # the pair is gone


@pytest.mark.root
def test_two_containers_on_a_bridge_reach_each_other(make_netns: Callable[[str], Path]) -> None:
    host, one, two = make_netns("host"), make_netns("one"), make_netns("two")
    bridge = _name("br")
    gateway = IP("10.231.11.1")

    def build() -> None:
        netlink.ensure_bridge(bridge, gateway, 24)
        for ns, k in ((one, 2), (two, 3)):
            address = IP(f"10.231.11.{k}")
            netlink.add_veth(host_name=_name(f"v{k}"), bridge=bridge, netns=ns, ifname="eth0", address=address,
                             prefixlen=24, mac=mac_for(address), gateway=gateway)  # fmt: skip

    in_netns(host, build)
    for ns, target in ((one, "10.231.11.3"), (two, "10.231.11.2"), (one, "10.231.11.1")):
        ping = subprocess.run(["nsenter", f"--net={ns}", "/bin/busybox", "ping", "-c1", "-W2", target],
                              capture_output=True, text=True, timeout=30)  # fmt: skip
        assert ping.returncode == 0, ping.stdout + ping.stderr

    # TCP too, with sockets made inside the namespaces (a socket stays in the namespace it was made in)
    def sock() -> socket.socket:
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    server = in_netns(two, sock)
    client = in_netns(one, sock)
    with server, client:
        server.bind(("10.231.11.3", 0))
        server.listen(1)
        client.settimeout(5)
        client.connect(server.getsockname())
        conn, peer = server.accept()
        with conn:
            assert peer[0] == "10.231.11.2"
            client.sendall(b"ping")
            assert conn.recv(4) == b"ping"
