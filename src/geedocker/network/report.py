"""What ``inspect`` and ``ps`` show of a container's network (docker's field names)."""

from __future__ import annotations

from geedocker.network.netstate import NetState, endpoint_id, load_state
from geedocker.network.options import PortSpec
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from typing import Any


def _ports(ports: tuple[PortSpec, ...]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for p in ports:
        out.setdefault(p.key, []).append({"HostIp": p.host_ip or "0.0.0.0", "HostPort": str(p.host_port)})
    return out


def _endpoint_settings(network_id: str = "", endpoint_id: str = "", gateway: str = "", address: str = "",
                       prefixlen: int = 0, mac: str = "", aliases: list[str] | None = None) -> dict[str, Any]:
    """docker's EndpointSettings, every key in its order."""
    return {
        "IPAMConfig": None, "Links": None, "Aliases": aliases or None, "NetworkID": network_id,
        "EndpointID": endpoint_id, "Gateway": gateway, "IPAddress": address, "IPPrefixLen": prefixlen,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": mac, "DriverOpts": None,
    }  # fmt: skip


def describe_state(st: NetState | None, mode: str = "bridge") -> dict[str, Any]:
    """docker inspect's ``NetworkSettings`` for a container's network state: every key of docker 20.10's, in its
    order (no IPv6: those are empty). Without a state (a container never started), the network it will join
    with empty settings, as docker shows it."""
    settings: dict[str, Any] = {
        "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "Ports": {}, "SandboxKey": "", "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
        "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "",
        "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "", "Networks": {},
    }  # fmt: skip
    if st is None:
        if mode and not mode.startswith("container:"):
            settings["Networks"] = {mode: _endpoint_settings()}
        return settings
    settings["SandboxKey"] = st.netns
    settings["SandboxID"] = st.container_id if st.netns else ""
    settings["Ports"] = _ports(st.ports)
    if st.mode in ("host", "none"):
        from geedocker.network.events import PREDEFINED_IDS

        settings["Networks"] = {st.mode: _endpoint_settings(PREDEFINED_IDS[st.mode])}
    for i, ep in enumerate(st.endpoints):
        eid = endpoint_id(st.container_id, ep.network_id)
        if i == 0:
            settings.update(Bridge=ep.bridge, EndpointID=eid, Gateway=str(ep.gateway), IPAddress=str(ep.address),
                            IPPrefixLen=ep.prefixlen, MacAddress=ep.mac)  # fmt: skip
    live = {ep.network: ep for ep in st.endpoints}
    asked = {att.network: att for att in st.networks}
    for net in [*asked, *(n for n in live if n not in asked)]:  # a stopped container is on its networks, no address
        e, att = live.get(net), asked.get(net)
        aliases = list(att.aliases if att else e.aliases if e else ())
        if e is not None:
            d = _endpoint_settings(e.network_id, endpoint_id(st.container_id, e.network_id), str(e.gateway),
                                   str(e.address), e.prefixlen, e.mac, aliases)  # fmt: skip
        else:
            d = _endpoint_settings(att.network_id if att else "", aliases=aliases)
        if att is not None and att.ip:
            d["IPAMConfig"] = {"IPv4Address": att.ip}
        settings["Networks"][net] = d
    return settings


def describe(layout: Layout, cid: str, mode: str = "bridge") -> dict[str, Any]:
    """``NetworkSettings`` of container ``cid``; ``mode`` names the network when it has no state."""
    return describe_state(load_state(layout, cid), mode)


def ports_text_of(st: NetState | None) -> str:
    """``docker ps``'s PORTS column: ``0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp``."""
    if st is None:
        return ""
    return ", ".join(p.text() for p in sorted(st.ports, key=lambda p: (p.container_port, p.protocol, p.host_port)))


def ports_text(layout: Layout, cid: str) -> str:
    try:
        return ports_text_of(load_state(layout, cid))
    except Exception:  # noqa: BLE001 - ps must list a container whatever its network state
        return ""
