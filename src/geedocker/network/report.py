"""What ``inspect`` and ``ps`` show of a container's network (docker's field names)."""

from __future__ import annotations

from geedocker.network.endpoint import NetState, load_state
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


def describe_state(st: NetState | None, mode: str = "bridge") -> dict[str, Any]:
    """docker inspect's ``NetworkSettings`` for a container's network state."""
    settings: dict[str, Any] = {
        "Bridge": "", "SandboxID": "", "SandboxKey": "", "Ports": {}, "Gateway": "", "IPAddress": "",
        "IPPrefixLen": 0, "MacAddress": "", "Networks": {},
    }  # fmt: skip
    if st is None:
        settings["Networks"] = {mode: {}} if mode else {}
        return settings
    settings["SandboxKey"] = st.netns
    settings["SandboxID"] = st.container_id if st.netns else ""
    settings["Ports"] = _ports(st.ports)
    if st.mode in ("host", "none"):
        settings["Networks"] = {st.mode: {"NetworkID": "", "IPAddress": "", "Gateway": "", "MacAddress": ""}}
    elif st.mode == "container":
        settings["Networks"] = {}
    for i, ep in enumerate(st.endpoints):
        if i == 0:
            settings.update(Bridge=ep.bridge, Gateway=str(ep.gateway), IPAddress=str(ep.address),
                            IPPrefixLen=ep.prefixlen, MacAddress=ep.mac)  # fmt: skip
    live = {ep.network: ep for ep in st.endpoints}
    asked = {att.network: att for att in st.networks}
    for net in [*asked, *(n for n in live if n not in asked)]:  # a stopped container is on its networks, no address
        e, att = live.get(net), asked.get(net)
        settings["Networks"][net] = {
            "IPAMConfig": {"IPv4Address": att.ip} if att and att.ip else None,
            "Aliases": list(att.aliases if att else e.aliases if e else ()) or None,
            "NetworkID": att.network_id if att else e.network_id if e else "",
            "EndpointID": e.host_veth if e else "",
            "Gateway": str(e.gateway) if e else "",
            "IPAddress": str(e.address) if e else "",
            "IPPrefixLen": e.prefixlen if e else 0,
            "MacAddress": e.mac if e else "",
        }
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
