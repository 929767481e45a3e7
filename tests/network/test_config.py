"""Networks on disk: the default network, user networks, subnets and gateways, lookups."""

from __future__ import annotations

import ipaddress
import os

import pytest

from geedocker.errors import NetworkError, UsageError
from geedocker.network import config
from geedocker.network.config import NetworkStore
from geedocker.network.errors import NetworkNotFound
from geedocker.store.layout import Layout


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEEDOCKER_BRIDGE", raising=False)
    monkeypatch.delenv("GEEDOCKER_BRIDGE_SUBNET", raising=False)


def test_default_network_avoids_host_routes(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    routes = [("eth9", ipaddress.IPv4Network("10.89.0.0/24")), ("eth8", ipaddress.IPv4Network("10.90.3.0/24"))]
    monkeypatch.setattr(config, "host_routes", lambda: routes)
    cfg = NetworkStore(layout).default()
    assert cfg.name == "bridge" and cfg.bridge == "geedocker0"
    assert str(cfg.subnet) == "10.91.0.0/16" and str(cfg.gateway) == "10.91.0.1"
    monkeypatch.setattr(config, "host_routes", lambda: [])
    assert NetworkStore(layout).default() == cfg  # written once, then stable


def test_default_network_shares_an_existing_bridges_subnet(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    routes = [("geedocker0", ipaddress.IPv4Network("10.93.0.0/16")), ("eth9", ipaddress.IPv4Network("10.89.0.0/16"))]
    monkeypatch.setattr(config, "host_routes", lambda: routes)
    cfg = NetworkStore(layout).default()
    assert str(cfg.subnet) == "10.93.0.0/16" and str(cfg.gateway) == "10.93.0.1"


def test_default_network_from_environment(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEEDOCKER_BRIDGE", "gdtest7")
    monkeypatch.setenv("GEEDOCKER_BRIDGE_SUBNET", "10.213.7.0/24")
    cfg = NetworkStore(layout).get("bridge")
    assert (cfg.bridge, str(cfg.subnet), str(cfg.gateway)) == ("gdtest7", "10.213.7.0/24", "10.213.7.1")


def test_bad_environment_values(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEEDOCKER_BRIDGE", "a-very-long-bridge-name")
    with pytest.raises(UsageError, match="invalid bridge name"):
        NetworkStore(layout).default()
    monkeypatch.setenv("GEEDOCKER_BRIDGE", "gdtest7")
    monkeypatch.setenv("GEEDOCKER_BRIDGE_SUBNET", "10.213.7.1/24")  # host bits set
    with pytest.raises(UsageError, match="invalid subnet"):
        NetworkStore(layout).default()


def test_host_networks_reads_the_routing_table() -> None:
    routes = config.host_routes()
    assert all(n.prefixlen > 0 for _, n in routes)
    devs = {d for d, _ in routes}
    assert all(os.path.exists(f"/sys/class/net/{d}") for d in devs)
    if devs:
        dev = sorted(devs)[0]
        assert set(config.host_networks(exclude_dev=dev)) >= {n for d, n in routes if d != dev}


def test_create_user_networks(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "host_networks", lambda exclude_dev="": [ipaddress.IPv4Network("10.200.0.0/24")])
    s = NetworkStore(layout)
    a = s.create("front")
    b = s.create("back", subnet="10.213.20.0/24", gateway="10.213.20.254", labels=[("team", "x")])
    assert str(a.subnet) == "10.200.1.0/24" and str(a.gateway) == "10.200.1.1"
    assert a.bridge == f"gd-{a.id[:12]}" and len(a.bridge) <= 15
    assert str(b.gateway) == "10.213.20.254" and dict(b.labels) == {"team": "x"}
    c = s.create("third")
    assert str(c.subnet) == "10.200.2.0/24"
    assert s.get("back") == b and s.get(b.id[:10]) == b and s.get(b.id) == b
    assert [n.name for n in s.configs()] == ["back", "bridge", "front", "third"]


@pytest.mark.parametrize(
    ("kw", "err", "text"),
    [
        ({"name": "bridge"}, NetworkError, "pre-defined"),
        ({"name": "host"}, NetworkError, "pre-defined"),
        ({"name": "bad name"}, UsageError, "invalid network name"),
        ({"name": "x", "subnet": "10.213.30.0/33"}, UsageError, "invalid subnet"),
        ({"name": "x", "subnet": "fd00::/64"}, UsageError, "IPv6"),
        ({"name": "x", "subnet": "10.213.30.0/31"}, UsageError, "/30 or shorter"),
        ({"name": "x", "subnet": "10.213.30.0/24", "gateway": "10.213.31.1"}, NetworkError, "not a usable"),
        ({"name": "x", "subnet": "10.213.30.0/24", "gateway": "10.213.30.255"}, NetworkError, "not a usable"),
        ({"name": "x", "subnet": "10.213.30.0/24", "gateway": "gw"}, UsageError, "invalid gateway"),
    ],
)
def test_create_rejects(layout: Layout, kw: dict[str, str], err: type[Exception], text: str) -> None:
    s = NetworkStore(layout)
    with pytest.raises(err, match=text):
        s.create(**kw)
    assert [c.name for c in s.configs()] == ["bridge"]


def test_duplicates_and_overlaps(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEEDOCKER_BRIDGE_SUBNET", "10.213.40.0/24")
    s = NetworkStore(layout)
    s.create("one", subnet="10.213.41.0/24")
    with pytest.raises(NetworkError, match="already exists"):
        s.create("one", subnet="10.213.42.0/24")
    with pytest.raises(NetworkError, match="overlaps with network one"):
        s.create("two", subnet="10.213.41.128/25")
    with pytest.raises(NetworkError, match="overlaps with network bridge"):
        s.create("two", subnet="10.213.0.0/16")


def test_unknown_and_ambiguous(layout: Layout) -> None:
    s = NetworkStore(layout)
    with pytest.raises(NetworkNotFound, match="network nope not found"):
        s.get("nope")
    with pytest.raises(NetworkNotFound):
        s.get("")
    with pytest.raises(NetworkError, match="pre-defined"):
        s.get("host")


def test_corrupt_config(layout: Layout) -> None:
    layout.networks.mkdir(parents=True, exist_ok=True)
    (layout.networks / "broken.json").write_text("[]")
    with pytest.raises(NetworkError, match="corrupt network config"):
        NetworkStore(layout).get("broken")


def test_an_explicit_subnet_overlapping_a_host_route_is_refused(layout: Layout,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "host_routes", lambda: [("eth9", ipaddress.IPv4Network("10.213.77.0/24"))])
    s = NetworkStore(layout)
    with pytest.raises(NetworkError, match=r"overlaps with the host's route to 10.213.77.0/24 \(dev eth9\)"):
        s.create("lan", subnet="10.213.0.0/16")
    assert s.create("ok", subnet="10.213.78.0/24").subnet == ipaddress.IPv4Network("10.213.78.0/24")


def test_predefined_network_ids_are_derived_from_their_names() -> None:
    import hashlib

    from geedocker.network.events import PREDEFINED_IDS

    for name, nid in PREDEFINED_IDS.items():  # written out (no hashlib on the start path): they must not drift
        assert nid == hashlib.sha256(f"geedocker-network-{name}".encode()).hexdigest()
