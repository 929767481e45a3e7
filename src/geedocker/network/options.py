"""The network flags of ``run``/``create``, parsed and validated (pure; no netlink).

``-p [hostIP:][hostPort[-hostPort]:]containerPort[-containerPort][/tcp|udp]``, ``-P``, ``--network``,
``--ip``, ``--dns``, ``--add-host NAME:IP``, ``--network-alias``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from geedocker.errors import UsageError
from geedocker.logger import get_logger
from geedocker.values import replace, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

PROTOCOLS = ("tcp", "udp")
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_HOSTNAME_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$")
MAX_NAME = 64
PREDEFINED = ("bridge", "host", "none")


@value(order=True)
class PortSpec:
    """One published port: ``host_port`` 0 means "pick a free one"; ``host_ip`` "" means every address."""

    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    host_port: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "container_port": self.container_port,
            "protocol": self.protocol,
            "host_ip": self.host_ip,
            "host_port": self.host_port,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PortSpec:
        return cls(int(d["container_port"]), str(d.get("protocol", "tcp")), str(d.get("host_ip", "")),
                   int(d.get("host_port", 0)))  # fmt: skip

    @property
    def key(self) -> str:
        """Docker's port key: ``80/tcp``."""
        return f"{self.container_port}/{self.protocol}"

    def text(self) -> str:
        """As ``docker ps`` shows it: ``0.0.0.0:8080->80/tcp``."""
        return f"{self.host_ip or '0.0.0.0'}:{self.host_port}->{self.key}"


@value
class NetworkOptions:
    """Everything about a container's network that the user asked for."""

    mode: str = "bridge"  # bridge, none, host, container:<name|id>, or a user network's name
    ports: tuple[PortSpec, ...] = ()
    publish_all: bool = False
    ip: str = ""
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    add_hosts: tuple[tuple[str, str], ...] = ()  # (hostname, ip)
    aliases: tuple[str, ...] = ()

    @property
    def container(self) -> str:
        """The other container's name for ``container:NAME``, else ""."""
        return self.mode.partition(":")[2] if self.mode.startswith("container:") else ""

    @property
    def uses_bridge(self) -> bool:
        return self.mode not in ("none", "host") and not self.container

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "ports": [p.to_json() for p in self.ports],
            "publish_all": self.publish_all,
            "ip": self.ip,
            "dns": list(self.dns),
            "dns_search": list(self.dns_search),
            "dns_options": list(self.dns_options),
            "add_hosts": [list(h) for h in self.add_hosts],
            "aliases": list(self.aliases),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any] | None) -> NetworkOptions:
        d = d or {}
        return cls(
            mode=str(d.get("mode", "bridge")),
            ports=tuple(PortSpec.from_json(p) for p in d.get("ports", ())),
            publish_all=bool(d.get("publish_all", False)),
            ip=str(d.get("ip", "")),
            dns=tuple(str(x) for x in d.get("dns", ())),
            dns_search=tuple(str(x) for x in d.get("dns_search", ())),
            dns_options=tuple(str(x) for x in d.get("dns_options", ())),
            add_hosts=tuple((str(h[0]), str(h[1])) for h in d.get("add_hosts", ())),
            aliases=tuple(str(x) for x in d.get("aliases", ())),
        )


@value
class NetworkRequest:
    """What the engine asks of the network for one container: who it is and what its flags said. The
    network package sees this, never the engine's container record (it sits below the engine)."""

    container_id: str
    name: str
    hostname: str
    options: NetworkOptions
    exposed_ports: tuple[str, ...] = ()  # the image's ExposedPorts, published by -P
    join_id: str = ""  # ``--network container:NAME``: that container's id, resolved by the engine


@value
class Attachment:
    """What the network gives a container for its bundle (``network.setup``'s answer to a ``NetworkRequest``):
    bind mounts for /etc/hosts and /etc/resolv.conf, and the network namespace to join (``None``: the host's;
    ``""``: a new empty one, made by the runtime; else the path of one the network made)."""

    mounts: tuple[dict[str, Any], ...] = ()
    netns: str | None = ""


def _port(text: str, what: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"invalid {what} {text!r} in port specification {spec!r}")
    return int(text)


def _port_range(text: str, what: str, spec: str) -> list[int]:
    lo, dash, hi = text.partition("-")
    if not dash:
        return [_port(lo, what, spec)]
    a, b = _port(lo, what, spec), _port(hi, what, spec)
    if b < a:
        raise UsageError(f"invalid {what} range {text!r} in port specification {spec!r}")
    return list(range(a, b + 1))


def parse_publish(spec: str) -> list[PortSpec]:
    """One ``-p`` value -> the ports it publishes (a range gives several)."""
    import ipaddress

    s = spec.strip()
    body, slash, proto = s.rpartition("/") if "/" in s else (s, "", "tcp")
    proto = proto.lower() if slash else "tcp"
    if proto not in PROTOCOLS:
        raise UsageError(f"invalid protocol {proto!r} in port specification {spec!r} (tcp or udp)")
    host_ip = ""
    if body.startswith("["):  # [::1]:80:80
        raise UsageError(f"IPv6 host addresses are not supported: {spec!r}")
    parts = body.split(":")
    if len(parts) == 1:
        host_part, ctr_part = "", parts[0]
    elif len(parts) == 2:
        host_part, ctr_part = parts
    elif len(parts) == 3:
        host_ip, host_part, ctr_part = parts
    else:
        raise UsageError(f"invalid port specification {spec!r}: expected [hostIP:][hostPort:]containerPort[/proto]")
    if host_ip:
        try:
            addr = ipaddress.ip_address(host_ip)
        except ValueError as e:
            raise UsageError(f"invalid host IP {host_ip!r} in port specification {spec!r}") from e
        if addr.version != 4:
            raise UsageError(f"IPv6 host addresses are not supported: {spec!r}")
        host_ip = "" if addr == ipaddress.IPv4Address("0.0.0.0") else str(addr)
    if not ctr_part:
        raise UsageError(f"no container port in port specification {spec!r}")
    ctr = _port_range(ctr_part, "container port", spec)
    if not host_part:
        return [PortSpec(c, proto, host_ip, 0) for c in ctr]
    host = _port_range(host_part, "host port", spec)
    if len(host) == 1 and len(ctr) == 1:
        return [PortSpec(ctr[0], proto, host_ip, host[0])]
    if len(host) != len(ctr):
        raise UsageError(f"invalid ranges in port specification {spec!r}: host and container ranges differ in size")
    return [PortSpec(c, proto, host_ip, h) for c, h in zip(ctr, host, strict=True)]


def parse_exposed(exposed: Iterable[str]) -> list[PortSpec]:
    """An image's ExposedPorts (``80/tcp``, ``53/udp``, ``8080``) as ports to publish on random host ports."""
    out: list[PortSpec] = []
    for item in exposed:
        port, _, proto = item.partition("/")
        proto = (proto or "tcp").lower()
        if proto not in PROTOCOLS:
            continue  # sctp: not supported; docker would publish it
        for p in _port_range(port, "exposed port", item):
            out.append(PortSpec(p, proto))
    return out


def parse_add_host(text: str) -> tuple[str, str]:
    """``--add-host name:ip`` (or ``name=ip``) -> (name, ip)."""
    import ipaddress

    if "=" in text:
        name, _, ip = text.partition("=")
    else:
        name, _, ip = text.partition(":")
    name = name.strip()
    ip = ip.strip().strip("[]")
    if not name or not _HOSTNAME_RE.match(name) or len(name) > 253:
        raise UsageError(f"invalid hostname {name!r} in --add-host {text!r}")
    if ip == "host-gateway":
        return name, ip
    try:
        return name, str(ipaddress.ip_address(ip))
    except ValueError as e:
        raise UsageError(f"invalid IP address {ip!r} in --add-host {text!r}") from e


def parse_ip(text: str) -> str:
    import ipaddress

    try:
        addr = ipaddress.ip_address(text)
    except ValueError as e:
        raise UsageError(f"invalid IPv4 address: {text}") from e
    if addr.version != 4:
        raise UsageError(f"invalid IPv4 address: {text} (IPv6 is not supported)")
    return str(addr)


def parse_dns(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(text))
    except ValueError as e:
        raise UsageError(f"{text} is not an ip address") from e


def validate_network_name(name: str) -> str:
    if not _NAME_RE.match(name) or len(name) > MAX_NAME:
        raise UsageError(f"invalid network name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name


def parse_mode(text: str) -> str:
    """``--network``: bridge (also ``default``), none, host, ``container:NAME`` or a network's name."""
    t = text.strip()
    if t in ("", "default"):
        return "bridge"
    if t.startswith("container:"):
        if not t.partition(":")[2]:
            raise UsageError("--network container: needs a container name or ID")
        return t
    return validate_network_name(t)


def network_options(
    *,
    network: str = "bridge",
    publish: Iterable[str] = (),
    publish_all: bool = False,
    ip: str = "",
    dns: Iterable[str] = (),
    dns_search: Iterable[str] = (),
    dns_options: Iterable[str] = (),
    add_hosts: Iterable[str] = (),
    aliases: Iterable[str] = (),
) -> NetworkOptions:
    """Validate the flags into NetworkOptions (``UsageError`` on a bad value or combination)."""
    mode = parse_mode(network)
    ports: list[PortSpec] = []
    for p in publish:
        ports += parse_publish(p)
    aliases_ = tuple(aliases)
    for a in aliases_:
        if not _HOSTNAME_RE.match(a):
            raise UsageError(f"invalid --network-alias {a!r}")
    opts = NetworkOptions(
        mode=mode,
        ports=tuple(ports),
        publish_all=publish_all,
        ip=parse_ip(ip) if ip else "",
        dns=tuple(parse_dns(d) for d in dns),
        dns_search=tuple(dns_search),
        dns_options=tuple(dns_options),
        add_hosts=tuple(parse_add_host(h) for h in add_hosts),
        aliases=aliases_,
    )
    if not opts.uses_bridge:
        if opts.ports or opts.publish_all:
            what = "host" if mode == "host" else mode.split(":")[0]
            if mode == "none" or opts.container:
                raise UsageError(f"conflicting options: port publishing and the {what} network mode")
            get_logger(__name__).warning("published ports are discarded when using host network mode")
            opts = replace(opts, ports=(), publish_all=False)
        if opts.ip:
            raise UsageError(f"--ip cannot be used with --network {mode}")
        if opts.aliases:
            raise UsageError(f"--network-alias cannot be used with --network {mode}")
        if opts.container and (opts.dns or opts.add_hosts):
            raise UsageError("conflicting options: --dns/--add-host and the container network mode")
    return opts
