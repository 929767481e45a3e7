"""``system check``'s network part: stale leases and subnet claims in the host-wide tables, reported and repaired."""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

import pytest

from geedocker.network import config, hostcheck, subnets
from geedocker.network.config import NetworkStore
from geedocker.network.leases import ipam_of
from geedocker.store.layout import Layout


def test_stale_leases_and_claims_of_a_removed_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "host_routes", lambda: [])
    monkeypatch.setenv("GEEDOCKER_BRIDGE", "gdtest99")
    monkeypatch.setenv("GEEDOCKER_BRIDGE_SUBNET", "10.213.99.0/24")
    gone = Layout(tmp_path / "gone", tmp_path / "gone" / "run")
    here = Layout(tmp_path / "here", tmp_path / "here" / "run")
    for lay in (gone, here):
        lay.ensure()
    old, new = NetworkStore(gone), NetworkStore(here)
    web = old.create("web", subnet="10.213.98.0/24")
    table = ipam_of(old, old.default())
    table.live = None  # no bridge to ask
    cid = "c" * 64
    (gone.netns).mkdir(parents=True)
    (gone.netns / cid).touch()  # its namespace file, as while it runs
    gone.container_dir(cid).mkdir(parents=True)
    table.allocate(cid, "10.213.99.7", netns=str(gone.netns / cid), home=str(gone.container_dir(cid)))
    assert hostcheck.check(here) == ([], [])  # all alive
    shutil.rmtree(gone.root)
    found, fixed = hostcheck.check(here)
    assert found[0].startswith("lease ") and sorted(found) == [
        f"lease 10.213.99.7 (02:42:0a:d5:63:07) held for container {cid[:12]} of the store at {gone.root} on bridge "
        "gdtest99: its container is gone",
        f"subnet {web.subnet} of bridge {web.bridge}: claimed for {old.path('web')}, which is gone",
        f"subnet 10.213.99.0/24 of bridge gdtest99: claimed for {old.path('bridge')}, which is gone",
    ] and fixed == []
    found, fixed = hostcheck.check(here, repair=True)
    assert fixed == found and len(found) == 3
    assert hostcheck.check(here) == ([], [])
    assert not (new.host / subnets.FILE).exists() and list(new.host.iterdir()) == []  # nothing left
    assert ipam_of(new, new.default()).allocate("d" * 64, "10.213.99.7") == ipaddress.IPv4Address("10.213.99.7")
