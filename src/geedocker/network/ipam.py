"""IP address management for one subnet: leases in a JSON file, changed under an flock.

    <network>.leases   {"last": "10.89.0.7", "leases": {"10.89.0.2": {"owner": "<container id>", "names": [...]}}}

Never handed out: the network and broadcast addresses and the gateway. Allocation continues after the
last address given (wrapping around), so a freed address is not reused at once. An owner holds at
most one address per network; asking again returns the same one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from geedocker.errors import NetworkError
from geedocker.network.errors import AddressInUse, AddressPoolExhausted
from geedocker.store.fsutil import atomic_write, file_lock
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

MAX_LEASES_BYTES = 64 * 1024 * 1024


@value
class Lease:
    address: ipaddress.IPv4Address
    owner: str
    names: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "names": list(self.names)}


@value
class _State:
    last: ipaddress.IPv4Address | None
    leases: dict[ipaddress.IPv4Address, Lease]


class Ipam:
    """Leases of ``subnet`` kept in ``path`` (its lock file is ``path`` + ``.lock``)."""

    def __init__(self, path: Path, subnet: ipaddress.IPv4Network, gateway: ipaddress.IPv4Address) -> None:
        self.path = Path(path)
        self.subnet = subnet
        self.gateway = gateway

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with file_lock(self.path.with_name(self.path.name + ".lock")):
            yield

    def _load(self) -> _State:
        try:
            with open(self.path, "rb") as f:
                data = f.read(MAX_LEASES_BYTES + 1)
        except FileNotFoundError:
            return _State(None, {})
        if len(data) > MAX_LEASES_BYTES:
            raise NetworkError(f"{self.path} is larger than {MAX_LEASES_BYTES} bytes")
        try:
            d = json.loads(data)
            leases = {}
            for addr, v in (d.get("leases") or {}).items():
                a = ipaddress.IPv4Address(addr)
                leases[a] = Lease(a, str(v["owner"]), tuple(str(n) for n in v.get("names", ())))
            last = ipaddress.IPv4Address(d["last"]) if d.get("last") else None
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise NetworkError(f"{self.path}: corrupt lease file: {e}") from e
        return _State(last, leases)

    def _save(self, st: _State) -> None:
        doc = {
            "subnet": str(self.subnet),
            "last": str(st.last) if st.last else "",
            "leases": {str(a): st.leases[a].to_json() for a in sorted(st.leases)},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(doc, indent=1).encode(), 0o644)

    def _reserved(self, addr: ipaddress.IPv4Address) -> bool:
        return addr in (self.subnet.network_address, self.subnet.broadcast_address, self.gateway)

    def check_requested(self, text: str) -> ipaddress.IPv4Address:
        """``--ip``: a usable address of this subnet (not network, broadcast or gateway)."""
        try:
            addr = ipaddress.IPv4Address(text)
        except ValueError as e:
            raise NetworkError(f"invalid IPv4 address {text!r}") from e
        if addr not in self.subnet:
            raise NetworkError(f"address {addr} is not in the network's subnet {self.subnet}")
        if addr == self.gateway:
            raise AddressInUse(f"address {addr} is the network's gateway")
        if self._reserved(addr):
            kind = "network" if addr == self.subnet.network_address else "broadcast"
            raise NetworkError(f"address {addr} is the {kind} address of {self.subnet}")
        return addr

    def allocate(self, owner: str, requested: str = "", names: Sequence[str] = ()) -> ipaddress.IPv4Address:
        """An address for ``owner`` (``requested`` if given and free); the same one if it has one already."""
        want = self.check_requested(requested) if requested else None
        with self._locked():
            st = self._load()
            for lease in st.leases.values():
                if lease.owner == owner:
                    if want is not None and lease.address != want:
                        raise AddressInUse(f"container {owner[:12]} already has address {lease.address}")
                    return lease.address
            if want is not None:
                if want in st.leases:
                    raise AddressInUse(f"address {want} is already in use (by container {st.leases[want].owner[:12]})")
                addr = want
            else:
                addr = self._next_free(st)
            st.leases[addr] = Lease(addr, owner, tuple(names))
            self._save(_State(addr if want is None else st.last, st.leases))
            return addr

    def _next_free(self, st: _State) -> ipaddress.IPv4Address:
        first = int(self.subnet.network_address) + 1
        last = int(self.subnet.broadcast_address) - 1
        size = last - first + 1
        start = int(st.last) + 1 if st.last is not None and st.last in self.subnet else first
        for i in range(size):
            n = first + (start - first + i) % size
            addr = ipaddress.IPv4Address(n)
            if addr not in st.leases and not self._reserved(addr):
                return addr
        raise AddressPoolExhausted(f"no free address left in subnet {self.subnet}")

    def release(self, owner: str) -> list[ipaddress.IPv4Address]:
        """Free every address ``owner`` holds; the freed addresses (none is fine)."""
        with self._locked():
            st = self._load()
            gone = [a for a, lease in st.leases.items() if lease.owner == owner]
            if gone:
                for a in gone:
                    del st.leases[a]
                self._save(_State(st.last, st.leases))
            return gone

    def leases(self) -> list[Lease]:
        with self._locked():
            return sorted(self._load().leases.values(), key=lambda lease: lease.address)
