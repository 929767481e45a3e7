"""IP address management, host-wide per bridge: every store on the host that puts containers on a bridge takes
their addresses from the bridge's one lease table, so two stores (two ``--root``s, each with its own run root)
never hand out the same address or MAC.

    $HOST/network/<bridge>.leases  (``Layout.host_network``; the directory itself is the flock)
      {"last": "10.89.0.7", "leases": {"10.89.0.2": {"owner": "<container id>", "names": [...],
        "store": "<root>", "network": "bridge", "mac": "02:42:0a:59:00:02",
        "netns": "<run>/netns/<id>", "home": "<root>/containers/<id>"}}}

A table file goes when its last lease does. Never handed out: the network and broadcast addresses and the
gateway; an automatic choice also skips what ``live()`` reports (the bridge's own addresses and live neighbours:
a container of an older geedocker, or of another tool, answering on the bridge). Allocation continues after the
last address given (wrapping around), so a freed address is not reused at once. An owner holds at most one
address per bridge; asking again returns the same one. Each store sees and frees only its own leases.

A lease is stale when no veth can answer for it any more: its namespace file is gone, or its container's
directory is gone and nothing is mounted on the namespace file (a store removed, a crash between steps). Any
store's allocation reclaims stale leases (``reclaim`` and ``geedocker system check`` report them).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from geedocker.errors import NetworkError
from geedocker.logger import get_logger
from geedocker.network.errors import AddressInUse, AddressPoolExhausted
from geedocker.store.fsutil import atomic_write, dir_lock, is_mountpoint
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

log = get_logger(__name__)

MAX_LEASES_BYTES = 64 * 1024 * 1024
SUFFIX = ".leases"


def mac_for(address: ipaddress.IPv4Address) -> str:
    """Docker's MAC address: 02:42 then the IPv4 address's four bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in address.packed)


@value
class Lease:
    address: ipaddress.IPv4Address
    owner: str  # the container id
    names: tuple[str, ...] = ()
    store: str = ""  # the owner's store root ("" in tables written by a bare Ipam)
    network: str = ""
    mac: str = ""
    netns: str = ""  # the owner's namespace file: it exists while the lease may be in use
    home: str = ""  # the owner's container directory

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "names": list(self.names), "store": self.store, "network": self.network,
                "mac": self.mac, "netns": self.netns, "home": self.home}  # fmt: skip

    @classmethod
    def from_json(cls, address: str, d: dict[str, Any]) -> Lease:
        a = ipaddress.IPv4Address(address)
        return cls(a, str(d["owner"]), tuple(str(n) for n in d.get("names", ())), str(d.get("store", "")),
                   str(d.get("network", "")), str(d.get("mac", "")), str(d.get("netns", "")),
                   str(d.get("home", "")))  # fmt: skip

    def stale(self) -> bool:
        """No veth can answer for this address any more (see the module's docstring)."""
        if not self.netns:
            return False
        if not os.path.lexists(self.netns):
            return True
        return bool(self.home) and not os.path.lexists(self.home) and not is_mountpoint(self.netns)

    def describe(self) -> str:
        who = f"container {self.owner[:12]}" + (f" of the store at {self.store}" if self.store else "")
        return f"{self.address} ({self.mac or mac_for(self.address)}) held for {who}"


@value
class _State:
    last: ipaddress.IPv4Address | None
    leases: dict[ipaddress.IPv4Address, Lease]


def table_path(directory: Path, bridge: str) -> Path:
    return directory / f"{bridge}{SUFFIX}"


def tables(directory: Path) -> list[Path]:
    """Every bridge's lease table in ``directory`` (the host's, ``Layout.host_network``)."""
    try:
        return sorted(directory / n for n in os.listdir(directory) if n.endswith(SUFFIX) and not n.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return []


class Ipam:
    """Leases of ``subnet`` in the bridge table ``path`` (locked through its directory), as seen by the store
    ``store`` (its root; "" sees every lease). ``live()``: addresses in use on the bridge outside the table."""

    def __init__(
        self, path: Path, subnet: ipaddress.IPv4Network, gateway: ipaddress.IPv4Address, *, store: str = "",
        network: str = "", live: Callable[[], Iterable[ipaddress.IPv4Address]] | None = None,
    ) -> None:  # fmt: skip
        self.path = Path(path)
        self.subnet = subnet
        self.gateway = gateway
        self.store = store
        self.network = network
        self.live = live

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise NetworkError(f"creating {self.path.parent}: {e.strerror}") from e
        with dir_lock(self.path.parent):
            yield

    def _mine(self, lease: Lease) -> bool:
        return not self.store or lease.store == self.store

    def _load(self) -> _State:
        return _load(self.path)

    def _save(self, st: _State) -> None:
        _write(self.path, st)

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

    def allocate(
        self, owner: str, requested: str = "", names: Sequence[str] = (), *, netns: str = "", home: str = ""
    ) -> ipaddress.IPv4Address:
        """An address for ``owner`` (``requested`` if given and free); the same one if it has one already.
        ``netns`` and ``home`` (its namespace file and directory) let other stores tell when it is stale."""
        want = self.check_requested(requested) if requested else None
        with self._locked():
            st = self._load()
            for lease in st.leases.values():
                if lease.owner == owner and self._mine(lease):
                    if want is not None and lease.address != want:
                        raise AddressInUse(f"container {owner[:12]} already has address {lease.address}")
                    return lease.address
            _drop_stale(st, self.path)
            if want is not None:
                if want in st.leases:
                    held = st.leases[want]
                    whose = "" if self._mine(held) else f" of the store at {held.store}"
                    raise AddressInUse(f"address {want} is already in use (by container {held.owner[:12]}{whose})")
                addr = want
            else:
                addr = self._next_free(st)
            st.leases[addr] = Lease(addr, owner, tuple(names), self.store, self.network, mac_for(addr), netns, home)
            self._save(_State(addr if want is None else st.last, st.leases))
            return addr

    def _next_free(self, st: _State) -> ipaddress.IPv4Address:
        first = int(self.subnet.network_address) + 1
        last = int(self.subnet.broadcast_address) - 1
        size = last - first + 1
        start = int(st.last) + 1 if st.last is not None and st.last in self.subnet else first
        macs = {lease.mac for lease in st.leases.values()}
        busy: set[ipaddress.IPv4Address] | None = None  # asked for only when a candidate is otherwise free
        for i in range(size):
            addr = ipaddress.IPv4Address(first + (start - first + i) % size)
            if addr in st.leases or self._reserved(addr) or mac_for(addr) in macs:
                continue
            if busy is None:
                busy = set(self.live()) if self.live is not None else set()
            if addr not in busy:
                return addr
        raise AddressPoolExhausted(f"no free address left in subnet {self.subnet}")

    def release(self, owner: str) -> list[ipaddress.IPv4Address]:
        """Free every address ``owner`` holds; the freed addresses (none is fine)."""
        if not self.path.exists():  # no table, no lease (rm of a container on no bridge: no lock taken)
            return []
        with self._locked():
            st = self._load()
            gone = [a for a, lease in st.leases.items() if lease.owner == owner and self._mine(lease)]
            if gone:
                for a in gone:
                    del st.leases[a]
                self._save(_State(st.last, st.leases))
            return gone

    def leases(self) -> list[Lease]:
        """This store's leases on the bridge."""
        if not self.path.exists():
            return []
        with self._locked():
            return sorted((x for x in self._load().leases.values() if self._mine(x)), key=lambda x: x.address)

    def adopt(self, legacy: Path, netns_of: Callable[[str], tuple[str, str]]) -> None:
        """Move the leases of a per-store table written by an older geedocker (``networks/<name>.leases``) into
        this host-wide one, then remove it. ``netns_of(owner)``: the owner's namespace file and directory."""
        with self._locked():
            try:
                old = _load(legacy)
            except NetworkError as e:
                log.warning("%s", e)
                old = _State(None, {})
            st = self._load()
            for addr, lease in old.leases.items():
                if addr in st.leases or any(x.owner == lease.owner and self._mine(x) for x in st.leases.values()):
                    continue
                ns, home = netns_of(lease.owner)
                st.leases[addr] = Lease(addr, lease.owner, lease.names, self.store, self.network, mac_for(addr),
                                        ns, home)  # fmt: skip
            self._save(_State(st.last or old.last, st.leases))
            with contextlib.suppress(FileNotFoundError):
                os.unlink(legacy)


def _load(path: Path) -> _State:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_LEASES_BYTES + 1)
    except FileNotFoundError:
        return _State(None, {})
    if len(data) > MAX_LEASES_BYTES:
        raise NetworkError(f"{path} is larger than {MAX_LEASES_BYTES} bytes")
    try:
        d = json.loads(data)
        leases = {}
        for addr, v in (d.get("leases") or {}).items():
            lease = Lease.from_json(addr, v)
            leases[lease.address] = lease
        last = ipaddress.IPv4Address(d["last"]) if d.get("last") else None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise NetworkError(f"{path}: corrupt lease file: {e}") from e
    return _State(last, leases)


def _write(path: Path, st: _State) -> None:
    if not st.leases:  # the table goes with its last lease: nothing is left of a bridge nobody uses
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    doc = {
        "last": str(st.last) if st.last else "",
        "leases": {str(a): st.leases[a].to_json() for a in sorted(st.leases)},
    }
    atomic_write(path, json.dumps(doc, indent=1).encode(), 0o644)


def _drop_stale(st: _State, path: Path) -> None:
    for lease in [x for x in st.leases.values() if x.stale()]:
        log.warning("%s: reclaiming %s, which is gone", path.name, lease.describe())
        del st.leases[lease.address]


def reclaim(path: Path, repair: bool = True) -> list[Lease]:
    """The stale leases of the bridge table ``path`` (every store's), removed with ``repair``."""
    if not path.parent.is_dir():
        return []
    with dir_lock(path.parent):
        st = _load(path)
        gone = [lease for lease in st.leases.values() if lease.stale()]
        if repair and gone:  # the caller says what it dropped
            for lease in gone:
                del st.leases[lease.address]
            _write(path, st)
        return gone
