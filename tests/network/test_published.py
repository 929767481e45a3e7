"""Published ports (-p): reachable from the host on 127.0.0.1, the bridge's gateway and a host address;
random host ports; conflicts with host sockets and other containers; ps and inspect show them."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator

import pytest

from tests.network.conftest import Net

pytestmark = pytest.mark.root

HTTPD = ("httpd", "-f", "-p", "80", "-h", "/www")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return str(r.read().decode())


def fetch_until_up(net: Net, url: str) -> str:
    last: list[str] = []

    def up() -> bool:
        try:
            last[:] = [get(url)]
            return True
        except OSError:
            return False

    net.wait_for(f"{url} to answer", up)
    return last[0]


def host_address() -> str:
    """A non-loopback IPv4 address of this host (its own, so traffic stays on the machine)."""
    with open("/proc/net/route") as f:
        for line in list(f)[1:]:
            cols = line.split()
            if cols[1] == "00000000" and cols[0] != "lo":
                dev = cols[0]
                break
        else:
            pytest.skip("no default route interface")
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            data = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", dev.encode()[:15]))  # SIOCGIFADDR
        except OSError:
            pytest.skip(f"{dev} has no IPv4 address")
    return socket.inet_ntoa(data[20:24])


@pytest.fixture
def web(net: Net) -> Iterator[tuple[str, int]]:
    port = free_port()
    cid = net.detach(*HTTPD, flags=("--name", "web", "-p", f"{port}:80"))
    yield cid, port


def test_published_port_from_localhost_gateway_and_host_address(net: Net, web: tuple[str, int]) -> None:
    cid, port = web
    assert fetch_until_up(net, f"http://127.0.0.1:{port}/") == "hello from the container\n"
    assert get(f"http://{net.prefix}.1:{port}/") == "hello from the container\n"
    assert get(f"http://{host_address()}:{port}/") == "hello from the container\n"
    assert get(f"http://{net.ip_of('web')}:80/") == "hello from the container\n"  # the container itself
    ps = net.ok("ps").splitlines()
    assert f"0.0.0.0:{port}->80/tcp" in ps[1]
    ports = net.inspect("web")["NetworkSettings"]["Ports"]
    assert ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
    net.ok("rm", "-f", "web")
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/")
    assert net.leftovers() == []


def test_random_host_port_bound_to_localhost(net: Net) -> None:
    net.detach(*HTTPD, flags=("--name", "rnd", "-p", "127.0.0.1::80"))
    ports = net.inspect("rnd")["NetworkSettings"]["Ports"]["80/tcp"]
    assert ports[0]["HostIp"] == "127.0.0.1"
    port = int(ports[0]["HostPort"])
    assert port > 0
    assert fetch_until_up(net, f"http://127.0.0.1:{port}/") == "hello from the container\n"
    with pytest.raises(OSError):  # published on 127.0.0.1 only
        get(f"http://{net.prefix}.1:{port}/")


def test_port_taken_by_a_host_socket(net: Net) -> None:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        port = s.getsockname()[1]
        r = net.run("true", flags=("-p", f"{port}:80"))
    assert r.returncode == 125 and f"0.0.0.0:{port} failed: port is already allocated" in r.stderr
    # the start failed: as docker's, the container stays (created), holding nothing
    assert net.ok("ps", "-a", "--format", "{{.State}}").split() == ["created"] and net.leftovers() == []


def test_port_taken_by_another_container(net: Net, web: tuple[str, int]) -> None:
    _, port = web
    r = net.run("true", flags=("-p", f"{port}:8080"))
    assert r.returncode == 125 and "port is already allocated" in r.stderr
    assert len(net.ok("ps", "-q").split()) == 1 and len(net.leases()) == 1  # the failed one stays created
    assert net.run("true", flags=("--rm", "-p", f"{port}:80/udp")).returncode == 0  # udp is another port


def test_publish_all_exposed_ports_of_an_image(net: Net) -> None:
    import io

    from geedocker.images.importer import import_rootfs
    from tests.support.layers import busybox_rootfs_entries, layer_tar

    net.layout.ensure()
    tar = io.BytesIO(layer_tar(busybox_rootfs_entries()))
    import_rootfs(net.layout, tar, "nettest/web:1", changes=("EXPOSE 80", "EXPOSE 53/udp"))
    script = "mkdir -p /www && echo exposed > /www/index.html && exec httpd -f -p 80 -h /www"
    r = net.cli("run", "-d", "-P", "--pull", "never", "--name", "pall", "nettest/web:1", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    ports = net.inspect("pall")["NetworkSettings"]["Ports"]
    assert set(ports) == {"80/tcp", "53/udp"}
    tcp = int(ports["80/tcp"][0]["HostPort"])
    assert tcp > 0 and int(ports["53/udp"][0]["HostPort"]) > 0
    assert fetch_until_up(net, f"http://127.0.0.1:{tcp}/") == "exposed\n"
    assert f"0.0.0.0:{tcp}->80/tcp" in net.ok("ps")
    net.ok("rm", "-f", "pall")
    assert net.leftovers() == []


def test_containers_reach_published_ports_through_a_host_address(net: Net, web: tuple[str, int]) -> None:
    _, port = web
    addr = host_address()
    assert fetch_until_up(net, f"http://127.0.0.1:{port}/") == "hello from the container\n"
    req = f'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 {addr} {port} | tail -1'
    r = net.run("sh", "-c", req, flags=("--rm",))  # another container on the bridge
    assert r.stdout == "hello from the container\n", r.stderr
    r = net.cli("exec", "web", "sh", "-c", req)  # the container itself (hairpin)
    assert r.stdout == "hello from the container\n", r.stderr
