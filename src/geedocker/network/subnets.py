"""Subnet claims, host-wide: which bridge holds which subnet for which stores' networks. ``network create`` in one
store then never picks a subnet that another store's network holds before its bridge exists (a bridge's route
tells only once a container brings it up), and stores sharing a default bridge share its subnet.

    $HOST/network/subnets.json  (``Layout.host_network``; changed under the flock of its directory, as the
                                 lease tables)
      {"<bridge>": {"subnet": "10.200.0.0/24", "owners": ["<root>/networks/<name>.json", ...]}}

An owner is the network's config file: once it is gone (``network rm``, a removed store) the owner is stale and
is dropped when the file is next written; a claim with no owner left goes, and the file with the last claim.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
from collections.abc import Iterator
from pathlib import Path

from geedocker.errors import NetworkError
from geedocker.logger import get_logger
from geedocker.store.fsutil import atomic_write, dir_lock
from geedocker.values import value

log = get_logger(__name__)

FILE = "subnets.json"
MAX_BYTES = 16 * 1024 * 1024


@value
class Claim:
    bridge: str
    subnet: ipaddress.IPv4Network
    owners: tuple[str, ...]

    def live_owners(self) -> tuple[str, ...]:
        return tuple(o for o in self.owners if os.path.lexists(o))


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise NetworkError(f"creating {directory}: {e.strerror}") from e
    with dir_lock(directory):
        yield


def load(directory: Path) -> dict[str, Claim]:
    """Every claim, stale owners included (callers hold ``locked``)."""
    path = directory / FILE
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    if len(data) > MAX_BYTES:
        raise NetworkError(f"{path} is larger than {MAX_BYTES} bytes")
    try:
        doc = json.loads(data)
        return {
            str(b): Claim(str(b), ipaddress.IPv4Network(c["subnet"]), tuple(str(o) for o in c.get("owners", ())))
            for b, c in doc.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise NetworkError(f"{path}: corrupt subnet claims: {e}") from e


def _save(directory: Path, claims: dict[str, Claim]) -> None:
    path = directory / FILE
    if not claims:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    doc = {b: {"subnet": str(c.subnet), "owners": list(c.owners)} for b, c in sorted(claims.items())}
    atomic_write(path, json.dumps(doc, indent=1).encode(), 0o644)


def live(directory: Path, exclude: str = "") -> list[Claim]:
    """The claims that some network still holds, but ``exclude`` (a config file) as an owner."""
    out = []
    for c in load(directory).values():
        owners = tuple(o for o in c.live_owners() if o != exclude)
        if owners:
            out.append(Claim(c.bridge, c.subnet, owners))
    return out


def claim(directory: Path, bridge: str, subnet: ipaddress.IPv4Network, owner: str) -> None:
    """``owner`` (a network's config file) holds ``subnet`` on ``bridge``; stale owners are dropped."""
    claims = _pruned(load(directory))
    have = claims.get(bridge)
    owners: tuple[str, ...] = ()
    if have is not None:
        if have.subnet != subnet:
            log.warning("bridge %s was claimed for %s by %s; now %s for %s", bridge, have.subnet,
                        ", ".join(have.owners), subnet, owner)  # fmt: skip
        owners = tuple(o for o in have.owners if o != owner)
    claims[bridge] = Claim(bridge, subnet, (*owners, owner))
    _save(directory, claims)


def unclaim(directory: Path, bridge: str, owner: str) -> None:
    claims = _pruned(load(directory))
    have = claims.get(bridge)
    if have is not None:
        owners = tuple(o for o in have.owners if o != owner)
        if owners:
            claims[bridge] = Claim(bridge, have.subnet, owners)
        else:
            del claims[bridge]
    _save(directory, claims)


def _pruned(claims: dict[str, Claim]) -> dict[str, Claim]:
    out = {}
    for b, c in claims.items():
        owners = c.live_owners()
        if owners:
            out[b] = Claim(b, c.subnet, owners)
    return out


def stale(directory: Path, repair: bool = False) -> list[str]:
    """One line per stale owner of a claim; with ``repair`` they are dropped."""
    if not directory.is_dir():
        return []
    with locked(directory):
        claims = load(directory)
        lines = [f"subnet {c.subnet} of bridge {c.bridge}: claimed for {o}, which is gone"
                 for c in claims.values() for o in c.owners if not os.path.lexists(o)]  # fmt: skip
        if repair and lines:
            _save(directory, _pruned(claims))
        return lines
