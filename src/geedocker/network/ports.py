"""Published ports: what a container asks for (``-p``, ``-P`` over the image's exposed ports) resolved against
the ports other containers hold and the host's free ones (a random port bound for a moment to find one)."""

from __future__ import annotations

import errno
from collections.abc import Sequence

from geedocker.errors import NetworkError
from geedocker.network.errors import PortInUse
from geedocker.network.netstate import all_states
from geedocker.network.options import NetworkRequest, PortSpec, parse_exposed
from geedocker.store.layout import Layout
from geedocker.values import replace


def bound_ports(layout: Layout, exclude: str) -> list[PortSpec]:
    return [p for st in all_states(layout) if st.container_id != exclude for p in st.ports]


def _clash(a: PortSpec, b: PortSpec) -> bool:
    return (
        a.protocol == b.protocol
        and a.host_port == b.host_port
        and (not a.host_ip or not b.host_ip or a.host_ip == b.host_ip)
    )


def _try_bind(p: PortSpec) -> int:
    """Bind ``p``'s host address and port (0 = any) for a moment; the port. PortInUse if taken."""
    import socket  # published ports only

    kind = socket.SOCK_STREAM if p.protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT does not hold a port
        try:
            s.bind((p.host_ip or "0.0.0.0", p.host_port))
        except OSError as e:
            where = f"{p.host_ip or '0.0.0.0'}:{p.host_port}"
            if e.errno == errno.EADDRINUSE:
                raise PortInUse(f"Bind for {where} failed: port is already allocated (in use on the host)") from e
            if e.errno == errno.EADDRNOTAVAIL:
                raise NetworkError(f"Bind for {where} failed: {p.host_ip} is not an address of this host") from e
            raise NetworkError(f"Bind for {where} failed: {e.strerror}") from e
        return int(s.getsockname()[1])


def resolve_ports(wanted: Sequence[PortSpec], taken: Sequence[PortSpec]) -> list[PortSpec]:
    """Check each wanted port against ``taken`` and the host's sockets; pick free ones for port 0."""
    out: list[PortSpec] = []
    for p in wanted:
        if p.host_port:
            for t in [*taken, *out]:
                if _clash(p, t):
                    where = f"{p.host_ip or '0.0.0.0'}:{p.host_port}"
                    raise PortInUse(f"Bind for {where} failed: port is already allocated")
            _try_bind(p)
            out.append(p)
            continue
        for _ in range(100):
            q = replace(p, host_port=_try_bind(p))
            if not any(_clash(q, t) for t in [*taken, *out]):
                out.append(q)
                break
        else:
            raise PortInUse(f"no free host port for {p.key}")
    return out


def wanted_ports(req: NetworkRequest) -> list[PortSpec]:
    opts = req.options
    ports = list(dict.fromkeys(opts.ports))
    if opts.publish_all:
        given = {p.key for p in ports}
        ports += [p for p in parse_exposed(req.exposed_ports) if p.key not in given]
    return ports
