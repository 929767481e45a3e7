"""Networks on disk: ``networks/<name>.json`` (a NetworkConfig); their addresses are leased host-wide per bridge
(``ipam``) and their subnets claimed host-wide (``subnets``), under ``Layout.host_network``.

The default network ``bridge`` is written on first use. Its bridge and subnet come from
``GEEDOCKER_BRIDGE`` (default ``geedocker0``) and ``GEEDOCKER_BRIDGE_SUBNET`` (default: the subnet another
store claimed for the bridge, or the one the bridge already routes, else the first of 10.89.0.0/16,
10.90.0.0/16, ... that no host route, address, name server or other store's claim overlaps); once written they
stay. Two stores (``--root``) on one bridge share its subnet and its lease table, so they never hand out the same
address.
User networks get a bridge ``gd-<id12>`` and, without ``--subnet``, the first free /24 of 10.200.0.0/16
(skipping host routes, this store's networks and every other store's claims).
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

    @property
    def host(self) -> Path:
        """The host-wide directory of lease tables and subnet claims (shared by every store)."""
        return self.layout.host_network

    def leases_path(self, cfg: NetworkConfig) -> Path:
        """The host-wide lease table of ``cfg``'s bridge."""
        from geedocker.network.ipam import table_path

        return table_path(self.host, cfg.bridge)

    def legacy_leases_path(self, name: str) -> Path:
        """Where an older geedocker kept a network's leases, per store (``ipam.Ipam.adopt`` moves them)."""
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
        """Remove network ``name``'s config and its subnet claim (its lease table goes with its last lease)."""
        from geedocker.network import subnets

        cfg = self._read(name)
        legacy = self.legacy_leases_path(name)
        for p in (self.path(name), legacy, legacy.with_name(legacy.name + ".lock")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        if cfg is not None:
            with subnets.locked(self.host):
                subnets.unclaim(self.host, cfg.bridge, str(self.path(name)))

    def default(self) -> NetworkConfig:
        """The ``bridge`` network, written on first use (with the environment's bridge and subnet)."""
        cfg = self._read(DEFAULT_NETWORK)
        if cfg is not None:
            return cfg
        import ipaddress

        from geedocker.network import subnets

        bridge = os.environ.get("GEEDOCKER_BRIDGE") or DEFAULT_BRIDGE
        _check_ifname(bridge)
        subnet_text = os.environ.get("GEEDOCKER_BRIDGE_SUBNET", "")
        own = str(self.path(DEFAULT_NETWORK))
        with subnets.locked(self.host):  # no other store picks a subnet meanwhile
            cfg = self._read(DEFAULT_NETWORK)
            if cfg is not None:
                return cfg
            claims = subnets.live(self.host, exclude=own)
            shared = [c.subnet for c in claims if c.bridge == bridge]
            taken = (host_networks(exclude_dev=bridge) + [c.subnet for c in self._user_configs()]
                     + [c.subnet for c in claims if c.bridge != bridge])  # fmt: skip
            on_bridge = [net for dev, net in host_routes() if dev == bridge and net.prefixlen <= 30]
            if subnet_text:
                subnet = parse_subnet(subnet_text)
            elif shared:  # another store uses this bridge: share its subnet (and its leases)
                subnet = shared[0]
            elif on_bridge:  # the bridge exists (made by hand, or by an older geedocker): share its subnet
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
            subnets.claim(self.host, bridge, subnet, own)
        return cfg

    def _user_configs(self) -> list[NetworkConfig]:
        return [c for c in (self._read(n) for n in self.names() if n != DEFAULT_NETWORK) if c is not None]

    def create(
        self, name: str, subnet: str = "", gateway: str = "", labels: Iterable[tuple[str, str]] = ()
    ) -> NetworkConfig:
        """A new user network (config only: its bridge appears with its first container)."""
        import ipaddress

        from geedocker.network import subnets

        validate_network_name(name)
        if name in ("bridge", "host", "none", "default"):
            raise NetworkError(f"network name {name} is a pre-defined network and cannot be created")
        mine = self.configs()  # before the lock: the default network takes it when it is first written
        with subnets.locked(self.host):  # no other store picks a subnet meanwhile
            if self._read(name) is not None:
                raise NetworkExists(f"network with name {name} already exists")
            claims = subnets.live(self.host)
            others = [c for c in claims if not any(str(self.path(m.name)) in c.owners for m in mine)]
            claimed = {o for c in claims for o in c.owners}
            for m in mine:  # networks written before subnets were claimed: claimed now, for the other stores
                if str(self.path(m.name)) not in claimed and self.path(m.name).exists():
                    subnets.claim(self.host, m.bridge, m.subnet, str(self.path(m.name)))
            if subnet:
                net = parse_subnet(subnet)
                for c in mine:
                    if net.overlaps(c.subnet):
                        raise NetworkError(
                            f"invalid pool request: subnet {net} overlaps with network {c.name} ({c.subnet})"
                        )
                for dev, routed in host_routes():  # as podman: never a subnet the host already routes
                    if net.overlaps(routed):
                        raise NetworkError(f"invalid pool request: subnet {net} overlaps with the host's route to "
                                           f"{routed} (dev {dev})")  # fmt: skip
                for claim in others:  # nor one that another store's network holds (one address space per host)
                    if net.overlaps(claim.subnet):
                        raise NetworkError(f"invalid pool request: subnet {net} overlaps with {claim.subnet} "
                                           f"of bridge {claim.bridge} (network {_owner_text(claim.owners[0])})")
            else:
                taken = [c.subnet for c in mine] + host_networks() + [c.subnet for c in others]
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
            cfg = NetworkConfig(name=name, id=nid, bridge=f"gd-{nid[:12]}", subnet=net, gateway=gw,
                                created=now_rfc3339(), labels=tuple(sorted(labels)))  # fmt: skip
            self.save(cfg)
            subnets.claim(self.host, cfg.bridge, net, str(self.path(name)))
        return cfg


def readable_configs(store: NetworkStore) -> list[NetworkConfig]:
    """The recorded networks whose config reads: a corrupt one is skipped (``NetworkStore.configs`` raises), and
    the default one is listed only once recorded (the endpoint modules look for leases, bridges and rules)."""
    out = []
    for name in store.names():
        with contextlib.suppress(NetworkError):
            out.append(store.get(name))
    return out


def _owner_text(config_file: str) -> str:
    """``<name> of the store at <root>`` from a network's config file ``<root>/networks/<name>.json``."""
    p = Path(config_file)
    return f"{p.stem} of the store at {p.parent.parent}"


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
