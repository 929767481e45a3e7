"""The nftables script for geedocker's table."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from geedocker.errors import NetworkError
from geedocker.network import nft
from geedocker.network.nft import BridgeNat, PortForward, Ruleset
from geedocker.store.layout import DEFAULT_ROOT, DEFAULT_RUN, Layout

NET = BridgeNat("gdtest0", ipaddress.IPv4Network("10.213.0.0/24"))
NET2 = BridgeNat("gd-abc", ipaddress.IPv4Network("10.213.1.0/24"))
WEB = PortForward("tcp", 8080, ipaddress.IPv4Address("10.213.0.2"), 80)
DNS = PortForward("udp", 5353, ipaddress.IPv4Address("10.213.0.3"), 53, "127.0.0.1")


def test_empty_ruleset_only_deletes_the_table() -> None:
    assert nft.script(Ruleset(), "geedocker") == "table ip geedocker\ndelete table ip geedocker\n"


def test_script_replaces_the_table_atomically() -> None:
    text = nft.script(Ruleset((NET,), (WEB,)), "gdt")
    lines = text.splitlines()
    assert lines[:3] == ["table ip gdt", "delete table ip gdt", "table ip gdt {"]
    assert "    tcp dport 8080 dnat to 10.213.0.2:80" in lines
    assert '    ip saddr 10.213.0.0/24 oifname != "gdtest0" masquerade' in lines
    assert '    oifname "gdtest0" ip saddr 127.0.0.0/8 masquerade' in lines
    assert '    oifname "gdtest0" ip saddr 10.213.0.0/24 ct status dnat masquerade' in lines
    assert text.count("fib daddr type local jump publish") == 2  # prerouting and output
    assert "type nat hook output priority -100" in text
    assert "table inet" not in text and "iptables" not in text  # only our own ip table


def test_host_ip_udp_and_isolation_between_bridges() -> None:
    text = nft.script(Ruleset((NET, NET2), (WEB, DNS)), "gdt")
    assert "    ip daddr 127.0.0.1 udp dport 5353 dnat to 10.213.0.3:53" in text
    assert '    iifname "gd-abc" oifname { "gdtest0" } drop' in text
    assert '    iifname "gdtest0" oifname { "gd-abc" } drop' in text
    assert text.index("ct status dnat accept") < text.index("drop")  # published ports stay reachable


def test_script_is_deterministic_and_deduplicated() -> None:
    a = nft.script(Ruleset((NET, NET2, NET), (DNS, WEB, WEB)), "gdt")
    b = nft.script(Ruleset((NET2, NET), (WEB, DNS)), "gdt")
    assert a == b and a.count("dport 8080") == 1


@pytest.mark.parametrize("table", ["", "1abc", "a b", "x;flush ruleset", "a" * 70])
def test_bad_table_names_refused(table: str) -> None:
    with pytest.raises(NetworkError):
        nft.script(Ruleset(), table)


def test_bad_interface_names_refused() -> None:
    with pytest.raises(NetworkError, match="interface name"):
        nft.script(Ruleset((BridgeNat('x" accept', NET.subnet),)), "gdt")


def test_table_name_per_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GEEDOCKER_NFT_TABLE", raising=False)
    assert nft.table_name(Layout(DEFAULT_ROOT, DEFAULT_RUN)) == "geedocker"
    a = nft.table_name(Layout(tmp_path / "a", tmp_path / "r"))
    b = nft.table_name(Layout(tmp_path / "b", tmp_path / "r"))
    assert a.startswith("geedocker-") and a != b and len(a) == len("geedocker-") + 8
    monkeypatch.setenv("GEEDOCKER_NFT_TABLE", "mytable")
    assert nft.table_name(Layout(tmp_path / "a", tmp_path / "r")) == "mytable"
    monkeypatch.setenv("GEEDOCKER_NFT_TABLE", "bad name")
    with pytest.raises(NetworkError):
        nft.table_name(Layout(tmp_path / "a", tmp_path / "r"))


def _tables() -> list[str]:
    import json
    import subprocess

    out = subprocess.run(["nft", "-j", "list", "tables", "ip"], capture_output=True, text=True, check=True).stdout
    return [t["table"]["name"] for t in json.loads(out)["nftables"] if "table" in t]


@pytest.mark.root
def test_apply_through_libnftables_makes_and_deletes_the_table() -> None:
    import subprocess

    table = "gdtest-nftlib"
    rules = Ruleset((BridgeNat("gdtestnft0", ipaddress.IPv4Network("10.213.250.0/24")),),
                    (PortForward("tcp", 18080, ipaddress.IPv4Address("10.213.250.2"), 80),))
    try:
        nft.apply(rules, table)
        listed = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True,
                                check=True).stdout
        assert "tcp dport 18080 dnat to 10.213.250.2:80" in listed
        assert 'ip saddr 10.213.250.0/24 oifname != "gdtestnft0" masquerade' in listed
        nft.apply(rules, table)  # replacing is idempotent
        assert _tables().count(table) == 1
    finally:
        nft.delete(table)
    assert table not in _tables()


@pytest.mark.root
def test_a_refused_script_names_the_reason_and_changes_nothing() -> None:
    before = _tables()
    with pytest.raises(NetworkError, match="nft refused a test script: .*No such file or directory"):
        nft.run("add rule ip gdtest-missing nochain accept\n", "a test script")
    assert _tables() == before


@pytest.mark.root
def test_apply_skips_a_commit_that_would_change_nothing() -> None:
    import subprocess

    table = "gdtest-nftskip"
    rules = Ruleset((BridgeNat("gdtestnft1", ipaddress.IPv4Network("10.213.251.0/24")),), ())

    def listed() -> str:
        return subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True).stdout

    try:
        nft.apply(Ruleset(), table)  # nothing to delete: no error, no table
        assert table not in _tables()
        nft.apply(rules, table)
        assert 'comment "geedocker rules ' in listed()
        # a rule the table did not get from us: only a real commit would remove it
        subprocess.run(["nft", "add", "rule", "ip", table, "forward", "counter", "comment", '"marker"'], check=True)
        nft.apply(rules, table)
        assert "marker" in listed()  # same rules: skipped
        nft.apply(Ruleset(rules.networks, (PortForward("udp", 15353, ipaddress.IPv4Address("10.213.251.9"), 53),)),
                  table)
        assert "marker" not in listed() and "udp dport 15353 dnat to 10.213.251.9:53" in listed()
        subprocess.run(["nft", "delete", "table", "ip", table], check=True)  # someone removed it
        nft.apply(rules, table)
        assert "masquerade" in listed()  # made again, not skipped
    finally:
        nft.delete(table)
    assert table not in _tables()
