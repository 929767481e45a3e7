"""``geedocker system check``, the network's part: what stores left in the host-wide tables (``Layout.host_network``,
shared by every store): leases whose container's namespace is gone (a removed store, a crash), subnet claims of
networks whose config is gone. ``repair`` drops them (allocation and ``network create`` drop them too, so this
only says what is there)."""

from __future__ import annotations

from geedocker.errors import GeeDockerError
from geedocker.network import ipam, subnets
from geedocker.store.layout import Layout


def check(layout: Layout, repair: bool = False) -> tuple[list[str], list[str]]:
    """(problems found, of them what was repaired), one line each."""
    found: list[str] = []
    fixed: list[str] = []
    host = layout.host_network
    for path in ipam.tables(host):
        bridge = path.name[: -len(ipam.SUFFIX)]
        try:
            stale = ipam.reclaim(path, repair=False)
        except GeeDockerError as e:
            found.append(str(e))
            continue
        lines = {lease.address: f"lease {lease.describe()} on bridge {bridge}: its container is gone"
                 for lease in stale}  # fmt: skip
        found += lines.values()
        if repair and lines:
            try:
                fixed += [lines[lease.address] for lease in ipam.reclaim(path, repair=True) if lease.address in lines]
            except GeeDockerError as e:
                found.append(str(e))
    try:
        claims = subnets.stale(host)
        found += claims
        if repair and claims:
            fixed += [line for line in subnets.stale(host, repair=True) if line in claims]
    except GeeDockerError as e:
        found.append(str(e))
    return found, fixed
