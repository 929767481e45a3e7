"""A container's network state (``containers/<id>/network.json``): the networks it is on, its endpoints (veth,
address, MAC), its published ports; read and written under ``locks/network.lock`` (``locked``)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from geedocker.errors import NetworkError
from geedocker.network.options import PortSpec
from geedocker.store.fsutil import atomic_write, file_lock
from geedocker.store.layout import Layout
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import ipaddress
    from typing import Any

STATE_FILE = "network.json"
MAX_STATE_BYTES = 1024 * 1024


@value
class Endpoint:
    network: str
    network_id: str
    address: ipaddress.IPv4Address
    prefixlen: int
    gateway: ipaddress.IPv4Address
    mac: str
    ifname: str
    host_veth: str
    bridge: str
    aliases: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "network": self.network, "network_id": self.network_id, "address": str(self.address),
            "prefixlen": self.prefixlen, "gateway": str(self.gateway), "mac": self.mac, "ifname": self.ifname,
            "host_veth": self.host_veth, "bridge": self.bridge, "aliases": list(self.aliases),
        }  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Endpoint:
        import ipaddress

        return cls(
            network=str(d["network"]), network_id=str(d["network_id"]),
            address=ipaddress.IPv4Address(d["address"]), prefixlen=int(d["prefixlen"]),
            gateway=ipaddress.IPv4Address(d["gateway"]), mac=str(d["mac"]), ifname=str(d["ifname"]),
            host_veth=str(d["host_veth"]), bridge=str(d["bridge"]), aliases=tuple(d.get("aliases", ())),
        )  # fmt: skip


def endpoint_id(container_id: str, network_id: str) -> str:
    """A 64-hex endpoint id as docker's, stable for a container on a network (inspect's EndpointID in both the
    container's NetworkSettings and the network's Containers; geedocker's endpoint is the veth pair)."""
    import hashlib

    return hashlib.sha256(f"geedocker-endpoint/{container_id}/{network_id}".encode()).hexdigest()


@value
class Membership:
    """A network the container is on (``--network``, ``network connect``), kept while it is stopped:
    its interface name and what was asked (``--ip``, aliases)."""

    network: str
    network_id: str
    ifname: str
    ip: str = ""
    aliases: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"network": self.network, "network_id": self.network_id, "ifname": self.ifname, "ip": self.ip,
                "aliases": list(self.aliases)}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Membership:
        return cls(str(d["network"]), str(d.get("network_id", "")), str(d["ifname"]), str(d.get("ip", "")),
                   tuple(str(a) for a in d.get("aliases", ())))  # fmt: skip


@value
class NetState:
    """A container's network (``containers/<id>/network.json``): what was asked (``networks``,
    ``wanted_ports``) and, while it runs, what ``start`` made (``endpoints``, ``ports``)."""

    container_id: str
    name: str
    hostname: str
    mode: str  # bridge (any bridge network), none, host, container
    netns: str = ""  # the namespace file the container joins ("" = the host's)
    joined: str = ""  # container mode: the other container's id
    endpoints: tuple[Endpoint, ...] = ()  # live ones (running only)
    ports: tuple[PortSpec, ...] = ()  # with the host ports actually used (running only)
    add_hosts: tuple[tuple[str, str], ...] = ()
    hosts_path: str = ""
    resolv_path: str = ""
    networks: tuple[Membership, ...] = ()
    wanted_ports: tuple[PortSpec, ...] = ()  # host port 0: any free one at each start

    def to_json(self) -> dict[str, Any]:
        return {
            "container_id": self.container_id, "name": self.name, "hostname": self.hostname, "mode": self.mode,
            "netns": self.netns, "joined": self.joined, "endpoints": [e.to_json() for e in self.endpoints],
            "ports": [p.to_json() for p in self.ports], "add_hosts": [list(h) for h in self.add_hosts],
            "hosts_path": self.hosts_path, "resolv_path": self.resolv_path,
            "networks": [a.to_json() for a in self.networks], "wanted_ports": [p.to_json() for p in self.wanted_ports],
        }  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NetState:
        endpoints = tuple(Endpoint.from_json(e) for e in d.get("endpoints", ()))
        ports = tuple(PortSpec.from_json(p) for p in d.get("ports", ()))
        if "networks" in d:
            networks = tuple(Membership.from_json(a) for a in d["networks"])
            wanted = tuple(PortSpec.from_json(p) for p in d.get("wanted_ports", ()))
        else:  # written before endpoints lived only while running: what it holds is what it asked for
            networks = tuple(Membership(e.network, e.network_id, e.ifname, "", e.aliases) for e in endpoints)
            wanted = ports
        return cls(
            container_id=str(d["container_id"]), name=str(d.get("name", "")), hostname=str(d.get("hostname", "")),
            mode=str(d["mode"]), netns=str(d.get("netns", "")), joined=str(d.get("joined", "")),
            endpoints=endpoints, ports=ports,
            add_hosts=tuple((str(h[0]), str(h[1])) for h in d.get("add_hosts", ())),
            hosts_path=str(d.get("hosts_path", "")), resolv_path=str(d.get("resolv_path", "")),
            networks=networks, wanted_ports=wanted,
        )  # fmt: skip


# ---------------------------------------------------------------- state files


def state_path(layout: Layout, cid: str) -> Path:
    return layout.container_dir(cid) / STATE_FILE


def load_state(layout: Layout, cid: str) -> NetState | None:
    try:
        with open(state_path(layout, cid), "rb") as f:
            data = f.read(MAX_STATE_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return NetState.from_json(json.loads(data[:MAX_STATE_BYTES]))
    except (ValueError, KeyError, TypeError) as e:
        raise NetworkError(f"{state_path(layout, cid)}: corrupt network state: {e}") from e


def save_state(layout: Layout, st: NetState) -> None:
    # not durable: like the container's own record (ContainerStore._write), it changes on every
    # start and a crash takes the namespace it describes along; the leases (ipam) stay fsynced
    atomic_write(state_path(layout, st.container_id), json.dumps(st.to_json(), indent=1).encode(), 0o644,
                 durable=False)


def all_states(layout: Layout) -> list[NetState]:
    out = []
    try:
        ids = os.listdir(layout.containers)
    except FileNotFoundError:
        return []
    for cid in sorted(ids):
        with contextlib.suppress(NetworkError):
            st = load_state(layout, cid)
            if st is not None:
                out.append(st)
    return out


@contextlib.contextmanager
def locked(layout: Layout) -> Iterator[None]:
    with file_lock(layout.lock("network")):
        yield
