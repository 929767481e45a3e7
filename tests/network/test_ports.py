"""Host port checks for -p/-P: clashes with other containers' ports and with the host's sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from geedocker.network.errors import PortInUse
from geedocker.network.options import PortSpec
from geedocker.network.ports import resolve_ports


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_port_taken_by_a_host_process(listener: int) -> None:
    with pytest.raises(PortInUse, match=f"127.0.0.1:{listener} failed: port is already allocated"):
        resolve_ports([PortSpec(80, "tcp", "127.0.0.1", listener)], [])


def test_udp_is_separate_from_tcp(listener: int) -> None:
    got = resolve_ports([PortSpec(53, "udp", "127.0.0.1", listener)], [])
    assert got == [PortSpec(53, "udp", "127.0.0.1", listener)]


def test_port_taken_by_another_container() -> None:
    p = free_port()
    taken = [PortSpec(80, "tcp", "", p)]
    with pytest.raises(PortInUse, match="already allocated"):
        resolve_ports([PortSpec(81, "tcp", "127.0.0.1", p)], taken)  # 0.0.0.0 covers 127.0.0.1
    assert resolve_ports([PortSpec(81, "udp", "", p)], taken)[0].host_port == p


def test_same_port_twice_in_one_request() -> None:
    p = free_port()
    with pytest.raises(PortInUse):
        resolve_ports([PortSpec(80, "tcp", "", p), PortSpec(81, "tcp", "", p)], [])


def test_random_ports_are_distinct_and_free() -> None:
    got = resolve_ports([PortSpec(80), PortSpec(443), PortSpec(53, "udp")], [])
    assert [g.container_port for g in got] == [80, 443, 53]
    ports = [g.host_port for g in got[:2]]
    assert all(p > 0 for p in ports) and len(set(ports)) == 2


def test_host_address_not_on_this_host() -> None:
    from geedocker.errors import NetworkError

    with pytest.raises(NetworkError, match="not an address of this host"):
        resolve_ports([PortSpec(80, "tcp", "198.51.100.77", 18099)], [])
