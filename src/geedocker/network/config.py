"""Networks on disk: ``networks/<name>.json`` (a NetworkConfig) next to ``<name>.leases`` (IPAM).

The default network ``bridge`` is written on first use. Its bridge and subnet come from
``GEEDOCKER_BRIDGE`` (default ``geedocker0``) and ``GEEDOCKER_BRIDGE_SUBNET`` (default: the subnet the
bridge already routes if it exists, else the first of 10.89.0.0/16, 10.90.0.0/16, ... that no host
route, address or name server overlaps); once written they stay. Two stores (``--root``) sharing one
bridge share its subnet but not their leases: give each store its own bridge (as two docker daemons
need their own bridges).
User networks get a bridge ``gd-<id12>`` and, without ``--subnet``, the first free /24 of 10.200.0.0/16
(again skipping host routes and other networks).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from geedocker.errors import NetworkError, UsageError
from geedocker.network.errors import NetworkExists, NetworkNotFound
from geedocker.network.options import validate_network_name
from geedocker.store.fsutil import atomic_write
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339
from geedocker.values import field, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import ipaddress
    from typing import Any

DEFAULT_NETWORK = "bridge"
DEFAULT_BRIDGE = "geedocker0"
DEFAULT_SUBNET_CANDIDATES = tuple(f"10.{n}.0.0/16" for n in range(89, 100))
USER_POOL = "10.200.0.0/16"  # user networks get a free /24 of it
MAX_CONFIG_BYTES = 1024 * 1024
IFNAMSIZ = 15


@value
class NetworkConfig:
    name: str
    id: str
    bridge: str
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    created: str = ""
    driver: str = "bridge"
    labels: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_NETWORK

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "driver": self.driver,
            "bridge": self.bridge,
            "subnet": str(self.subnet),
            "gateway": str(self.gateway),
            "created": self.created,
            "labels": dict(self.labels),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NetworkConfig:
        import ipaddress  # here: ipaddress costs ~2 ms to import, and --network none and host need none of it

        return cls(
            name=str(d["name"]),
            id=str(d["id"]),
            driver=str(d.get("driver", "bridge")),
            bridge=str(d["bridge"]),
            subnet=ipaddress.IPv4Network(d["subnet"]),
            gateway=ipaddress.IPv4Address(d["gateway"]),
            created=str(d.get("created", "")),
            labels=tuple(sorted((d.get("labels") or {}).items())),
        )


def host_routes() -> list[tuple[str, ipaddress.IPv4Network]]:
    """(device, network) of every IPv4 route of this host except the default route."""
    import ipaddress

    out: list[tuple[str, ipaddress.IPv4Network]] = []
    with contextlib.suppress(OSError):
        with open("/proc/net/route") as f:
            for line in list(f)[1:]:
                cols = line.split()
                if len(cols) < 8:
                    continue
                dst = int(cols[1], 16).to_bytes(4, "little")
                mask = int(cols[7], 16).to_bytes(4, "little")
                net = ipaddress.IPv4Network(f"{ipaddress.IPv4Address(dst)}/{ipaddress.IPv4Address(mask)}", strict=False)
                if net.prefixlen > 0:
                    out.append((cols[0], net))
    return out


def host_networks(exclude_dev: str = "") -> list[ipaddress.IPv4Network]:
    import ipaddress

    """The IPv4 networks this host routes (but the default route and ``exclude_dev``'s) and its name servers."""
    nets = [net for dev, net in host_routes() if dev != exclude_dev]
    with contextlib.suppress(OSError):
        with open("/etc/resolv.conf") as f:  # the host's name servers must stay reachable
            for line in f.read(65536).splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    with contextlib.suppress(ValueError):
                        addr = ipaddress.ip_address(parts[1])
                        if addr.version == 4:
                            nets.append(ipaddress.IPv4Network(f"{addr}/32"))
    return nets


def _overlaps(net: ipaddress.IPv4Network, others: Iterable[ipaddress.IPv4Network]) -> bool:
    return any(net.overlaps(o) for o in others)


class NetworkStore:
    """The ``networks/`` directory of a store. Callers that change it hold ``lock()``."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.dir = layout.networks

    def path(self, name: str) -> Path:
        return self.dir / f"{name}.json"

    def leases_path(self, name: str) -> Path:
        return self.dir / f"{name}.leases"

    def names(self) -> list[str]:
        try:
            return sorted(p[:-5] for p in os.listdir(self.dir) if p.endswith(".json"))
        except FileNotFoundError:
            return []

    def _read(self, name: str) -> NetworkConfig | None:
        try:
            with open(self.path(name), "rb") as f:
                data = f.read(MAX_CONFIG_BYTES + 1)
        except FileNotFoundError:
            return None
        if len(data) > MAX_CONFIG_BYTES:
            raise NetworkError(f"{self.path(name)} is larger than {MAX_CONFIG_BYTES} bytes")
        try:
            return NetworkConfig.from_json(json.loads(data))
        except (ValueError, KeyError, TypeError) as e:
            raise NetworkError(f"{self.path(name)}: corrupt network config: {e}") from e

    def configs(self) -> list[NetworkConfig]:
        out = [c for c in (self._read(n) for n in self.names()) if c is not None]
        if not any(c.is_default for c in out):
            out.insert(0, self.default())
        return out

    def get(self, ref: str) -> NetworkConfig:
        """A network by name, full ID or unique ID prefix; the default one is made on first use."""
        if ref == DEFAULT_NETWORK:
            return self.default()
        if ref in ("host", "none"):
            raise NetworkError(f"network {ref} has no configuration (it is a pre-defined mode)")
        cfg = self._read(ref) if ref and "/" not in ref and not ref.startswith(".") else None
        if cfg is not None:
            return cfg
        matches = [c for c in self.configs() if c.id.startswith(ref)] if ref else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise NetworkError(f"network {ref} is ambiguous ({len(matches)} matches found based on ID prefix)")
        raise NetworkNotFound(f"network {ref} not found")

    def save(self, cfg: NetworkConfig) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path(cfg.name), json.dumps(cfg.to_json(), indent=1).encode(), 0o644)

    def delete(self, name: str) -> None:
        leases = self.leases_path(name)
        for p in (self.path(name), leases, leases.with_name(leases.name + ".lock")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def default(self) -> NetworkConfig:
        """The ``bridge`` network, written on first use (with the environment's bridge and subnet)."""
        import ipaddress

        cfg = self._read(DEFAULT_NETWORK)
        if cfg is not None:
            return cfg
        bridge = os.environ.get("GEEDOCKER_BRIDGE") or DEFAULT_BRIDGE
        _check_ifname(bridge)
        subnet_text = os.environ.get("GEEDOCKER_BRIDGE_SUBNET", "")
        taken = host_networks(exclude_dev=bridge) + [c.subnet for c in self._user_configs()]
        on_bridge = [net for dev, net in host_routes() if dev == bridge and net.prefixlen <= 30]
        if subnet_text:
            subnet = parse_subnet(subnet_text)
        elif on_bridge:  # the bridge exists (another store made it): share its subnet
            subnet = on_bridge[0]
        else:
            for cand in DEFAULT_SUBNET_CANDIDATES:
                subnet = ipaddress.IPv4Network(cand)
                if not _overlaps(subnet, taken):
                    break
            else:
                raise NetworkError("no free subnet for the default network: set GEEDOCKER_BRIDGE_SUBNET")
        cfg = NetworkConfig(
            name=DEFAULT_NETWORK, id=os.urandom(32).hex(), bridge=bridge, subnet=subnet,
            gateway=next(subnet.hosts()), created=now_rfc3339(),
        )  # fmt: skip
        self.save(cfg)
        return cfg

    def _user_configs(self) -> list[NetworkConfig]:
        return [c for c in (self._read(n) for n in self.names() if n != DEFAULT_NETWORK) if c is not None]

    def create(
        self, name: str, subnet: str = "", gateway: str = "", labels: Iterable[tuple[str, str]] = ()
    ) -> NetworkConfig:
        """A new user network (config only: its bridge appears with its first container)."""
        import ipaddress

        validate_network_name(name)
        if name in ("bridge", "host", "none", "default"):
            raise NetworkError(f"network name {name} is a pre-defined network and cannot be created")
        if self._read(name) is not None:
            raise NetworkExists(f"network with name {name} already exists")
        existing = [c.subnet for c in self.configs()]
        taken = existing + host_networks()
        if subnet:
            net = parse_subnet(subnet)
            for c in self.configs():
                if net.overlaps(c.subnet):
                    raise NetworkError(
                        f"invalid pool request: subnet {net} overlaps with network {c.name} ({c.subnet})"
                    )
            for dev, routed in host_routes():  # as podman: never a subnet the host already routes
                if net.overlaps(routed):
                    raise NetworkError(
                        f"invalid pool request: subnet {net} overlaps with the host's route to {routed} (dev {dev})"
                    )
        else:
            for cand in ipaddress.IPv4Network(USER_POOL).subnets(new_prefix=24):
                if not _overlaps(cand, taken):
                    net = cand
                    break
            else:
                raise NetworkError("could not find a free subnet for the network: give --subnet")
        if gateway:
            try:
                gw = ipaddress.IPv4Address(gateway)
            except ValueError as e:
                raise UsageError(f"invalid gateway address {gateway!r}") from e
            if gw not in net or gw in (net.network_address, net.broadcast_address):
                raise NetworkError(f"gateway {gw} is not a usable address of subnet {net}")
        else:
            gw = next(net.hosts())
        nid = os.urandom(32).hex()
        cfg = NetworkConfig(name=name, id=nid, bridge=f"gd-{nid[:12]}", subnet=net, gateway=gw, created=now_rfc3339(),
                            labels=tuple(sorted(labels)))  # fmt: skip
        self.save(cfg)
        return cfg


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    import ipaddress

    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        raise UsageError(f"invalid subnet {text!r}: {e}") from e
    if net.version != 4:
        raise UsageError(f"invalid subnet {text!r}: IPv6 is not supported")
    if net.prefixlen > 30:
        raise UsageError(f"invalid subnet {text!r}: the prefix must be /30 or shorter")
    assert isinstance(net, ipaddress.IPv4Network)
    return net


def _check_ifname(name: str) -> None:
    if not name or len(name) > IFNAMSIZ or "/" in name or any(c.isspace() for c in name):
        raise UsageError(f"invalid bridge name {name!r} (at most {IFNAMSIZ} characters, no / or spaces)")
