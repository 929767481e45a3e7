"""Network flags: -p/-P port specs, --add-host, --network modes, --ip/--dns, conflicting combinations."""

from __future__ import annotations

import pytest

from geedocker.errors import UsageError
from geedocker.network.options import (
    NetworkOptions,
    PortSpec,
    network_options,
    parse_add_host,
    parse_exposed,
    parse_mode,
    parse_publish,
)


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("80", [PortSpec(80, "tcp", "", 0)]),
        ("8080:80", [PortSpec(80, "tcp", "", 8080)]),
        ("8080:80/udp", [PortSpec(80, "udp", "", 8080)]),
        ("127.0.0.1:8080:80", [PortSpec(80, "tcp", "127.0.0.1", 8080)]),
        ("127.0.0.1::80/TCP", [PortSpec(80, "tcp", "127.0.0.1", 0)]),
        ("0.0.0.0:53:53/udp", [PortSpec(53, "udp", "", 53)]),
        ("7000-7002:8000-8002", [PortSpec(8000 + i, "tcp", "", 7000 + i) for i in range(3)]),
        ("9000-9001", [PortSpec(9000, "tcp", "", 0), PortSpec(9001, "tcp", "", 0)]),
    ],
)
def test_parse_publish(spec: str, want: list[PortSpec]) -> None:
    assert parse_publish(spec) == want


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ("", "no container port"),
        ("8080:", "no container port"),
        ("abc:80", "invalid host port"),
        ("8080:0", "invalid container port"),
        ("8080:65536", "invalid container port"),
        ("80/sctp", "invalid protocol"),
        ("1.2.3:80:80", "invalid host IP"),
        ("::1:80:80", "invalid port specification"),
        ("[::1]:80:80", "IPv6"),
        ("7000-7001:80", "ranges"),
        ("8002-8000:80", "invalid host port range"),
        ("1:2:3:4", "invalid port specification"),
    ],
)
def test_parse_publish_rejects(spec: str, text: str) -> None:
    with pytest.raises(UsageError, match=text):
        parse_publish(spec)


def test_port_text_and_key() -> None:
    p = PortSpec(80, "tcp", "", 8080)
    assert p.key == "80/tcp" and p.text() == "0.0.0.0:8080->80/tcp"
    assert PortSpec(53, "udp", "127.0.0.1", 5353).text() == "127.0.0.1:5353->53/udp"


def test_parse_exposed() -> None:
    assert parse_exposed(["80/tcp", "53/udp", "8080", "132/sctp"]) == [
        PortSpec(80, "tcp"), PortSpec(53, "udp"), PortSpec(8080, "tcp"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("db:10.0.0.5", ("db", "10.0.0.5")),
        ("db=10.0.0.5", ("db", "10.0.0.5")),
        ("gw:host-gateway", ("gw", "host-gateway")),
        ("v6:[::1]", ("v6", "::1")),
        ("v6=::1", ("v6", "::1")),
    ],
)
def test_parse_add_host(text: str, want: tuple[str, str]) -> None:
    assert parse_add_host(text) == want


@pytest.mark.parametrize("text", ["db", ":1.2.3.4", "db:notanip", "bad name:1.2.3.4", "-x:1.2.3.4"])
def test_parse_add_host_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_add_host(text)


def test_modes() -> None:
    assert parse_mode("default") == "bridge"
    assert parse_mode("container:web") == "container:web"
    assert parse_mode("my-net.1") == "my-net.1"
    for bad in ("container:", "../x", "a b", "-x"):
        with pytest.raises(UsageError):
            parse_mode(bad)


def test_network_options_round_trip() -> None:
    opts = network_options(
        network="front", publish=["8080:80", "53/udp"], publish_all=True, ip="10.213.0.9", dns=["10.213.0.53"],
        dns_search=["example.test"], dns_options=["ndots:2"], add_hosts=["db:10.213.0.7"], aliases=["api"],
    )  # fmt: skip
    assert opts.uses_bridge and opts.container == ""
    assert NetworkOptions.from_json(opts.to_json()) == opts
    assert NetworkOptions.from_json(None) == NetworkOptions()


@pytest.mark.parametrize(
    ("kw", "text"),
    [
        ({"network": "none", "publish": ["80"]}, "port publishing"),
        ({"network": "container:x", "publish_all": True}, "port publishing"),
        ({"network": "host", "ip": "10.0.0.2"}, "--ip cannot be used"),
        ({"network": "none", "aliases": ["a"]}, "--network-alias cannot be used"),
        ({"network": "container:x", "dns": ["10.0.0.1"]}, "conflicting options"),
        ({"ip": "fe80::1"}, "IPv6"),
        ({"ip": "300.1.1.1"}, "invalid IPv4 address"),
        ({"dns": ["resolver"]}, "is not an ip address"),
        ({"aliases": ["bad alias"]}, "invalid --network-alias"),
    ],
)
def test_network_options_rejects(kw: dict[str, object], text: str) -> None:
    with pytest.raises(UsageError, match=text):
        network_options(**kw)  # type: ignore[arg-type]


def test_host_mode_ignores_published_ports() -> None:
    opts = network_options(network="host", publish=["80:80"], publish_all=True)
    assert opts.ports == () and not opts.publish_all and opts.mode == "host"
