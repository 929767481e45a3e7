"""IPAM: allocation order, persistence, release, exhaustion, --ip checks, many processes at once."""

from __future__ import annotations

import ipaddress
import multiprocessing
import os
from pathlib import Path

import pytest

from geedocker.errors import NetworkError
from geedocker.network.errors import AddressInUse, AddressPoolExhausted
from geedocker.network.ipam import Ipam

NET = ipaddress.IPv4Network("10.213.50.0/24")
GW = ipaddress.IPv4Address("10.213.50.1")


def ipam(tmp_path: Path, net: ipaddress.IPv4Network = NET, gw: ipaddress.IPv4Address = GW) -> Ipam:
    return Ipam(tmp_path / "net.leases", net, gw)


def test_first_addresses_skip_network_and_gateway(tmp_path: Path) -> None:
    i = ipam(tmp_path)
    assert str(i.allocate("a")) == "10.213.50.2"
    assert str(i.allocate("b")) == "10.213.50.3"


def test_same_owner_gets_the_same_address(tmp_path: Path) -> None:
    i = ipam(tmp_path)
    a = i.allocate("a")
    assert i.allocate("a") == a
    assert len(i.leases()) == 1


def test_leases_persist_across_instances_with_names(tmp_path: Path) -> None:
    ipam(tmp_path).allocate("a", names=["web", "alias"])
    again = ipam(tmp_path)
    leases = again.leases()
    assert [(str(x.address), x.owner, x.names) for x in leases] == [("10.213.50.2", "a", ("web", "alias"))]
    assert str(again.allocate("b")) == "10.213.50.3"


def test_release_frees_and_is_not_reused_at_once(tmp_path: Path) -> None:
    i = ipam(tmp_path)
    a = i.allocate("a")
    i.allocate("b")
    assert i.release("a") == [a]
    assert i.release("a") == []
    c = i.allocate("c")
    assert c != a and str(c) == "10.213.50.4"
    assert {x.owner for x in i.leases()} == {"b", "c"}


def test_exhaustion_then_wraparound_reuse(tmp_path: Path) -> None:
    net = ipaddress.IPv4Network("10.213.51.0/29")  # .1 gateway, .2-.6 usable, .7 broadcast
    i = ipam(tmp_path, net, ipaddress.IPv4Address("10.213.51.1"))
    got = [str(i.allocate(f"c{n}")) for n in range(5)]
    assert got == [f"10.213.51.{n}" for n in range(2, 7)]
    with pytest.raises(AddressPoolExhausted, match="no free address"):
        i.allocate("late")
    i.release("c1")  # frees .3
    assert str(i.allocate("late")) == "10.213.51.3"


def test_gateway_in_the_middle_is_never_given(tmp_path: Path) -> None:
    net = ipaddress.IPv4Network("10.213.52.0/29")
    i = ipam(tmp_path, net, ipaddress.IPv4Address("10.213.52.4"))
    got = {str(i.allocate(f"c{n}")) for n in range(5)}
    assert got == {"10.213.52.1", "10.213.52.2", "10.213.52.3", "10.213.52.5", "10.213.52.6"}


@pytest.mark.parametrize(
    ("addr", "err", "text"),
    [
        ("10.213.99.5", NetworkError, "not in the network's subnet"),
        ("10.213.50.1", AddressInUse, "gateway"),
        ("10.213.50.0", NetworkError, "network address"),
        ("10.213.50.255", NetworkError, "broadcast address"),
        ("nonsense", NetworkError, "invalid IPv4 address"),
    ],
)
def test_requested_address_validation(tmp_path: Path, addr: str, err: type[Exception], text: str) -> None:
    i = ipam(tmp_path)
    with pytest.raises(err, match=text):
        i.allocate("a", addr)
    assert i.leases() == []


def test_requested_address_in_use(tmp_path: Path) -> None:
    i = ipam(tmp_path)
    assert str(i.allocate("a", "10.213.50.77")) == "10.213.50.77"
    with pytest.raises(AddressInUse, match=r"10\.213\.50\.77 is already in use"):
        i.allocate("b", "10.213.50.77")
    # a requested address does not move the cursor of automatic allocation
    assert str(i.allocate("c")) == "10.213.50.2"


def test_corrupt_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "net.leases").write_text("{not json")
    with pytest.raises(NetworkError, match="corrupt lease file"):
        ipam(tmp_path).allocate("a")


def test_fifty_leases_unique(tmp_path: Path) -> None:
    i = ipam(tmp_path)
    addrs = [i.allocate(f"c{n}") for n in range(50)]
    assert len(set(addrs)) == 50
    assert all(a in NET and a not in (GW, NET.network_address, NET.broadcast_address) for a in addrs)


def _worker(path: str, prefix: str, n: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    i = Ipam(Path(path), NET, GW)
    out.put([str(i.allocate(f"{prefix}-{k}")) for k in range(n)])


def test_concurrent_allocation_from_processes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    q: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_worker, args=(str(tmp_path / "net.leases"), f"p{k}", 15, q)) for k in range(4)]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    every = [a for r in results for a in r]
    assert len(every) == 60 and len(set(every)) == 60
    assert len(ipam(tmp_path).leases()) == 60


# ---------------------------------------------------------------- one table per bridge, shared by the host's stores


def store_ipam(tmp_path: Path, store: str, live: set[ipaddress.IPv4Address] | None = None) -> Ipam:
    return Ipam(tmp_path / "host" / "br0.leases", NET, GW, store=store, network="bridge",
                live=(lambda: live) if live is not None else None)  # fmt: skip


def owner_paths(tmp_path: Path, store: str, cid: str) -> dict[str, str]:
    """A container's namespace file and directory, as they exist while it runs."""
    home = tmp_path / store / "containers" / cid
    home.mkdir(parents=True)
    netns = tmp_path / store / "run" / "netns" / cid
    netns.parent.mkdir(parents=True, exist_ok=True)
    netns.touch()
    return {"netns": str(netns), "home": str(home)}


def test_two_stores_on_one_bridge_get_distinct_addresses_and_macs(tmp_path: Path) -> None:
    a, b = store_ipam(tmp_path, "/a"), store_ipam(tmp_path, "/b")
    got = [a.allocate("c1"), b.allocate("c1"), a.allocate("c2"), b.allocate("c2")]
    assert [str(x) for x in got] == ["10.213.50.2", "10.213.50.3", "10.213.50.4", "10.213.50.5"]
    leases = store_ipam(tmp_path, "").leases()  # "" sees every store's
    assert len({x.mac for x in leases}) == 4 and leases[0].mac == "02:42:0a:d5:32:02"
    assert [(str(x.address), x.store) for x in a.leases()] == [("10.213.50.2", "/a"), ("10.213.50.4", "/a")]
    with pytest.raises(AddressInUse, match=r"10\.213\.50\.3 is already in use \(by container c1 of the store at /b\)"):
        a.allocate("c3", "10.213.50.3")
    assert b.release("c2") == [ipaddress.IPv4Address("10.213.50.5")]
    assert a.release("c9") == [] and b.release("c2") == []  # a store frees only its own leases
    assert [str(x.address) for x in a.leases()] == ["10.213.50.2", "10.213.50.4"]


def test_the_table_goes_with_its_last_lease(tmp_path: Path) -> None:
    a = store_ipam(tmp_path, "/a")
    a.allocate("c1")
    assert a.path.exists()
    a.release("c1")
    assert not a.path.exists() and a.leases() == [] and a.release("c1") == []


def test_automatic_choice_skips_live_addresses_of_the_bridge(tmp_path: Path) -> None:
    busy = {ipaddress.IPv4Address("10.213.50.2"), ipaddress.IPv4Address("10.213.50.3")}
    a = store_ipam(tmp_path, "/a", live=busy)
    assert str(a.allocate("c1")) == "10.213.50.4"
    assert str(a.allocate("c2", "10.213.50.2")) == "10.213.50.2"  # --ip: the table decides (a restart keeps it)


def test_stale_leases_are_reclaimed(tmp_path: Path) -> None:
    from geedocker.network.ipam import reclaim

    a, b = store_ipam(tmp_path, "/a"), store_ipam(tmp_path, "/b")
    gone = owner_paths(tmp_path, "a", "gone")  # its store is removed below
    dead = owner_paths(tmp_path, "a", "dead")  # its directory is removed, its namespace file is not mounted
    alive = owner_paths(tmp_path, "a", "alive")
    a.allocate("gone", "10.213.50.10", **gone)
    a.allocate("dead", "10.213.50.11", **dead)
    a.allocate("alive", "10.213.50.12", **alive)
    a.allocate("bare", "10.213.50.13")  # no namespace recorded: never judged stale
    with pytest.raises(AddressInUse):
        b.allocate("x", "10.213.50.10")
    os.unlink(gone["netns"])
    os.rmdir(dead["home"])
    assert {str(x.address) for x in reclaim(a.path, repair=False)} == {"10.213.50.10", "10.213.50.11"}
    assert len(a.leases()) == 4  # only reported
    assert str(b.allocate("x", "10.213.50.10")) == "10.213.50.10"  # another store's allocation reclaims them
    assert {str(x.address) for x in store_ipam(tmp_path, "").leases()} == {"10.213.50.10", "10.213.50.12",
                                                                          "10.213.50.13"}  # fmt: skip
    assert reclaim(a.path) == []


def test_an_older_stores_leases_are_adopted(tmp_path: Path) -> None:
    legacy = tmp_path / "networks" / "bridge.leases"
    legacy.parent.mkdir()
    legacy.write_text('{"last": "10.213.50.7", "leases": {"10.213.50.7": {"owner": "old", "names": ["web"]}}}')
    a = store_ipam(tmp_path, "/a")
    a.adopt(legacy, lambda owner: (f"/run/x/netns/{owner}", f"/a/containers/{owner}"))
    assert not legacy.exists()
    (lease,) = a.leases()
    assert (str(lease.address), lease.owner, lease.names, lease.netns) == ("10.213.50.7", "old", ("web",),
                                                                            "/run/x/netns/old")  # fmt: skip
    assert str(store_ipam(tmp_path, "/b").allocate("new")) == "10.213.50.8"  # continues after the adopted one
