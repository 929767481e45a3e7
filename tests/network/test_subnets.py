"""Subnet claims, host-wide: two stores never pick the same subnet, share a default bridge's, and forget the
claims of removed networks and stores."""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

import pytest

from geedocker.errors import NetworkError
from geedocker.network import config, subnets
from geedocker.network.config import NetworkStore
from geedocker.store.layout import Layout

NET = ipaddress.IPv4Network


@pytest.fixture(autouse=True)
def _quiet_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """No host route or name server of this machine decides these tests; the default bridge is given."""
    monkeypatch.setattr(config, "host_routes", lambda: [])
    monkeypatch.setattr(config, "host_networks", lambda exclude_dev="": [])
    monkeypatch.delenv("GEEDOCKER_BRIDGE", raising=False)
    monkeypatch.delenv("GEEDOCKER_BRIDGE_SUBNET", raising=False)


def store(tmp_path: Path, name: str) -> NetworkStore:
    lay = Layout(tmp_path / name, tmp_path / name / "run")  # each store its own run root, as tests and users have
    lay.ensure()
    return NetworkStore(lay)


def test_two_stores_pick_different_subnets(tmp_path: Path) -> None:
    a, b = store(tmp_path, "a"), store(tmp_path, "b")
    assert a.host == b.host  # the host's, whatever the run root
    one = a.create("web")
    two = b.create("web")
    three = a.create("db")
    assert (str(one.subnet), str(two.subnet), str(three.subnet)) == ("10.200.0.0/24", "10.200.1.0/24", "10.200.2.0/24")
    claims = {c.bridge: c for c in subnets.live(a.host)}
    assert claims[two.bridge].owners == (str(b.path("web")),) and claims[two.bridge].subnet == two.subnet


def test_an_explicit_subnet_another_store_holds_is_refused(tmp_path: Path) -> None:
    a, b = store(tmp_path, "a"), store(tmp_path, "b")
    a.create("web", subnet="10.213.60.0/24")
    with pytest.raises(NetworkError, match=rf"overlaps with 10.213.60.0/24 of bridge gd-\w+ \(network web of the "
                                           rf"store at {tmp_path / 'a'}\)"):  # fmt: skip
        b.create("other", subnet="10.213.0.0/16")
    assert b.create("ok", subnet="10.213.61.0/24").subnet == NET("10.213.61.0/24")


def test_stores_share_the_default_bridges_subnet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = store(tmp_path, "a"), store(tmp_path, "b")
    first = a.default()
    assert str(first.subnet) == "10.89.0.0/16"
    assert b.default().subnet == first.subnet  # the same bridge: the same subnet, before the bridge exists
    monkeypatch.setenv("GEEDOCKER_BRIDGE", "gdother0")
    c = store(tmp_path, "c")
    assert str(c.default().subnet) == "10.90.0.0/16"  # another bridge: another subnet
    assert str(c.create("web").subnet) == "10.200.0.0/24"
    claim = {x.bridge: x for x in subnets.live(a.host)}["geedocker0"]
    assert claim.owners == (str(a.path("bridge")), str(b.path("bridge")))


def test_claims_of_removed_networks_and_stores_are_dropped(tmp_path: Path) -> None:
    a, b = store(tmp_path, "a"), store(tmp_path, "b")
    web = a.create("web")
    db = a.create("db")
    a.delete("web")  # network rm
    assert web.bridge not in {c.bridge for c in subnets.live(a.host)}
    shutil.rmtree(tmp_path / "a")  # the store is removed: its claims are stale
    left = subnets.stale(b.host)  # db's and the default network's (made with a's first network)
    assert f"subnet {db.subnet} of bridge {db.bridge}: claimed for {a.path('db')}, which is gone" in left
    assert len(left) == 2 and any(f"claimed for {a.path('bridge')}, which is gone" in x for x in left)
    assert str(b.create("web").subnet) == "10.200.0.0/24"  # free again: web's was released, db's is stale
    assert str(b.create("db").subnet) == "10.200.1.0/24"
    assert subnets.stale(b.host) == []  # dropped when the claims were written
    b.delete("web")
    b.delete("db")
    b.delete("bridge")
    assert not (b.host / subnets.FILE).exists()  # nothing left of them


def test_a_corrupt_claims_file_is_an_error(tmp_path: Path) -> None:
    a = store(tmp_path, "a")
    a.host.mkdir(parents=True)
    (a.host / subnets.FILE).write_text("[1]")
    with pytest.raises(NetworkError, match="corrupt subnet claims"):
        a.create("web")


def test_networks_written_before_claims_are_claimed_at_the_next_create(tmp_path: Path) -> None:
    a, b = store(tmp_path, "a"), store(tmp_path, "b")
    old = a.create("old")
    a.host.joinpath(subnets.FILE).unlink()  # as an older geedocker left it: no claims
    a.create("new")
    assert {c.bridge for c in subnets.live(a.host)} >= {old.bridge, "geedocker0"}
    assert b.create("web").subnet != old.subnet
