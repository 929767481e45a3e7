"""``network ls`` rows and ``network inspect`` JSON (docker's field names)."""

from __future__ import annotations

from typing import Any

from geedocker.network.config import NetworkConfig, NetworkStore
from geedocker.network.events import PREDEFINED_IDS
from geedocker.network.netstate import Endpoint, NetState, all_states, endpoint_id
from geedocker.store.layout import Layout

HEADER = ("NETWORK ID", "NAME", "DRIVER", "SCOPE")


def list_rows(layout: Layout) -> list[tuple[str, str, str, str]]:
    """(id, name, driver, scope) for every network: bridge, host, none, then the user networks."""
    configs = NetworkStore(layout).configs()
    rows = [(c.id, c.name, c.driver, "local") for c in configs]
    rows += [(PREDEFINED_IDS["host"], "host", "host", "local"), (PREDEFINED_IDS["none"], "none", "null", "local")]
    return sorted(rows, key=lambda r: r[1])


def format_table(rows: list[tuple[str, str, str, str]], trunc: bool = True) -> str:
    table = [HEADER] + [(r[0][:12] if trunc else r[0], r[1], r[2], r[3]) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    return "\n".join("   ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in table)


def network_json(layout: Layout, cfg: NetworkConfig) -> dict[str, Any]:
    containers = {
        st.container_id: {
            "Name": st.name,
            "EndpointID": endpoint_id(st.container_id, ep.network_id),
            "MacAddress": ep.mac,
            "IPv4Address": f"{ep.address}/{ep.prefixlen}",
            "IPv6Address": "",
        }
        for st, ep in network_containers(layout, cfg)
    }
    return {
        "Name": cfg.name,
        "Id": cfg.id,
        "Created": cfg.created,
        "Scope": "local",
        "Driver": cfg.driver,
        "EnableIPv6": False,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": [{"Subnet": str(cfg.subnet), "Gateway": str(cfg.gateway)}],
        },
        "Internal": False,
        "Attachable": False,
        "Ingress": False,
        "ConfigOnly": False,
        "Containers": containers,
        "Options": {"com.docker.network.bridge.name": cfg.bridge},
        "Labels": dict(cfg.labels),
    }


def inspect_network(layout: Layout, ref: str) -> dict[str, Any]:
    if ref in PREDEFINED_IDS:
        return {
            "Name": ref, "Id": PREDEFINED_IDS[ref], "Created": "", "Scope": "local",
            "Driver": "host" if ref == "host" else "null", "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": []}, "Internal": False, "Attachable": False,
            "Ingress": False, "ConfigOnly": False, "Containers": {}, "Options": {}, "Labels": {},
        }  # fmt: skip
    return network_json(layout, NetworkStore(layout).get(ref))


def network_containers(layout: Layout, cfg: NetworkConfig) -> list[tuple[NetState, Endpoint]]:
    return [(st, e) for st in all_states(layout) for e in st.endpoints if e.network == cfg.name]
