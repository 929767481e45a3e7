"""The container's /etc/hosts and /etc/resolv.conf text."""

from __future__ import annotations

import pytest

from geedocker.network.etcfiles import HostEntry, hosts_text, resolv_text


def test_hosts_localhost_extra_own_peers_in_order() -> None:
    text = hosts_text(
        own=[HostEntry("10.213.0.2", ("abc123", "web", "abc123"))],
        extra=[("db", "10.213.0.9")],
        peers=[HostEntry("10.213.0.3", ("api", "backend", "0123456789ab"))],
    )
    lines = text.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    assert lines[1] == "::1\tlocalhost ip6-localhost ip6-loopback"
    assert lines[-3:] == ["10.213.0.9\tdb", "10.213.0.2\tabc123 web", "10.213.0.3\tapi backend 0123456789ab"]
    assert text.endswith("\n")


def test_hosts_without_network() -> None:
    lines = hosts_text().splitlines()
    assert len(lines) == 6 and lines[0] == "127.0.0.1\tlocalhost"


HOST = """# generated
nameserver 127.0.0.53
nameserver 10.255.255.53
nameserver ::1
search corp.test lab.test
options edns0 trust-ad
"""


def test_resolv_drops_loopback_servers_keeps_search_and_options() -> None:
    assert resolv_text(HOST) == "nameserver 10.255.255.53\nsearch corp.test lab.test\noptions edns0 trust-ad\n"


def test_resolv_only_loopback_leaves_no_nameserver() -> None:
    text = resolv_text("nameserver 127.0.0.53\nsearch corp.test\n")
    assert "nameserver" not in text and text == "search corp.test\n"
    assert resolv_text("nameserver 127.0.0.1\n") == ""


def test_resolv_dns_overrides_servers_and_search() -> None:
    text = resolv_text(HOST, dns=["10.213.0.53", "10.213.0.54"], search=["x.test"], options=["ndots:3"])
    assert text == "nameserver 10.213.0.53\nnameserver 10.213.0.54\nsearch x.test\noptions ndots:3\n"


def test_resolv_host_mode_keeps_loopback() -> None:
    assert resolv_text(HOST, keep_loopback=True).splitlines()[:3] == [
        "nameserver 127.0.0.53", "nameserver 10.255.255.53", "nameserver ::1",
    ]  # fmt: skip


@pytest.mark.parametrize("text", ["127.0.0.1", "127.1.2.3", "10.0.0.1", "::1", "0:0:0:0:0:0:0:1", "::2",
                                  "fe80::1%eth0", "::ffff:127.0.0.1", "nonsense", "", "1.2.3", "256.0.0.1"])
def test_loopback_test_agrees_with_ipaddress(text: str) -> None:
    import ipaddress

    from geedocker.network.etcfiles import _is_loopback

    try:
        want = ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        want = False
    assert _is_loopback(text) is want
