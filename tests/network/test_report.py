"""What inspect (NetworkSettings) and ps (PORTS) get from a network state (the bundle's namespaces from the
attachment: tests/containers/test_spec.py)."""

from __future__ import annotations

import ipaddress
import re

from geedocker.network.netstate import Endpoint, NetState
from geedocker.network.options import PortSpec
from geedocker.network.report import describe_state, ports_text_of

EP = Endpoint(
    network="front", network_id="n" * 64, address=ipaddress.IPv4Address("10.213.0.5"), prefixlen=24,
    gateway=ipaddress.IPv4Address("10.213.0.1"), mac="02:42:0a:d5:00:05", ifname="eth0", host_veth="gd0123456789abc",
    bridge="gd-abc", aliases=("api",),
)  # fmt: skip
ST = NetState("c" * 64, "web", "cccccccccccc", "bridge", netns="/run/x/netns/c", endpoints=(EP,),
              ports=(PortSpec(80, "tcp", "", 8080), PortSpec(53, "udp", "127.0.0.1", 5353)))  # fmt: skip


def test_state_round_trips_through_json() -> None:
    assert NetState.from_json(ST.to_json()) == ST


def test_describe_bridge() -> None:
    d = describe_state(ST)
    assert d["IPAddress"] == "10.213.0.5" and d["Gateway"] == "10.213.0.1" and d["IPPrefixLen"] == 24
    assert d["MacAddress"] == "02:42:0a:d5:00:05" and d["SandboxKey"] == "/run/x/netns/c"
    assert d["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
                          "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}]}  # fmt: skip
    assert d["Networks"]["front"]["Aliases"] == ["api"] and d["Networks"]["front"]["IPAddress"] == "10.213.0.5"


    front = d["Networks"]["front"]
    assert front["NetworkID"] == "n" * 64 and re.fullmatch("[0-9a-f]{64}", front["EndpointID"])
    assert d["EndpointID"] == front["EndpointID"] and d["HairpinMode"] is False and d["SecondaryIPAddresses"] is None


# docker 20.10's NetworkSettings and EndpointSettings keys, in its order
SETTINGS_KEYS = ["Bridge", "SandboxID", "HairpinMode", "LinkLocalIPv6Address", "LinkLocalIPv6PrefixLen", "Ports",
                 "SandboxKey", "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID", "Gateway",
                 "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress", "IPPrefixLen", "IPv6Gateway", "MacAddress",
                 "Networks"]  # fmt: skip
ENDPOINT_KEYS = ["IPAMConfig", "Links", "Aliases", "NetworkID", "EndpointID", "Gateway", "IPAddress", "IPPrefixLen",
                 "IPv6Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "MacAddress", "DriverOpts"]  # fmt: skip


def test_describe_a_stopped_container_on_its_networks_without_address() -> None:
    from geedocker.network.netstate import Membership

    st = NetState("c" * 64, "web", "cccccccccccc", "bridge", netns="/run/x/netns/c",
                  networks=(Membership("front", "n" * 64, "eth0", "10.213.0.9", ("api",)),),
                  wanted_ports=(PortSpec(80, "tcp", "", 8080),))  # fmt: skip
    assert NetState.from_json(st.to_json()) == st
    d = describe_state(st)
    assert d["IPAddress"] == "" and d["Ports"] == {}
    front = d["Networks"]["front"]
    assert front["IPAddress"] == "" and front["NetworkID"] == "n" * 64 and front["Aliases"] == ["api"]
    assert front["IPAMConfig"] == {"IPv4Address": "10.213.0.9"}
    assert ports_text_of(st) == ""


def test_state_written_before_attachments_reads_its_endpoints_as_asked() -> None:
    doc = ST.to_json()
    del doc["networks"], doc["wanted_ports"]
    st = NetState.from_json(doc)
    assert [a.network for a in st.networks] == ["front"] and st.wanted_ports == ST.ports


def test_describe_other_modes() -> None:
    never_started = describe_state(None, "host")
    assert list(never_started) == SETTINGS_KEYS and list(never_started["Networks"]["host"]) == ENDPOINT_KEYS
    assert never_started["Networks"]["host"]["NetworkID"] == ""
    none = describe_state(NetState("c" * 64, "x", "h", "none", netns="/n"))["Networks"]["none"]
    assert list(none) == ENDPOINT_KEYS and len(none["NetworkID"]) == 64 and none["EndpointID"] == ""
    assert describe_state(NetState("c" * 64, "x", "h", "container", netns="/n"))["Networks"] == {}
    assert describe_state(None, "container:other")["Networks"] == {}
    assert list(describe_state(ST)) == SETTINGS_KEYS and list(describe_state(ST)["Networks"]["front"]) == ENDPOINT_KEYS


def test_ports_text() -> None:
    assert ports_text_of(ST) == "127.0.0.1:5353->53/udp, 0.0.0.0:8080->80/tcp"
    assert ports_text_of(None) == ""

