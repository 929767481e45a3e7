"""Outbound NAT: a container's connection to an "outside host" arrives from the host's address.

The outside host is a network namespace made by the test, on a veth whose host end holds
198.51.100.1/24 (TEST-NET-2; the namespace is 198.51.100.2): all traffic stays on this machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.network import netlink
from tests.network.conftest import Net

pytestmark = pytest.mark.root

OUTSIDE_HOST_SIDE = "198.51.100.1"
OUTSIDE = "198.51.100.2"

SERVER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000))
s.listen()
print("ready", flush=True)
c, peer = s.accept()
c.sendall(("seen " + peer[0] + "\\n").encode())
c.close()
print(peer[0], flush=True)
"""


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    from pyroute2 import IPRoute

    ns = tmp_path / "outside-ns"
    name = f"tnout{os.getpid() % 100000}"  # not "gd...": leftovers() looks for those
    netlink.create_netns(ns)
    try:
        fd = os.open(ns, os.O_RDONLY)
        try:
            with IPRoute() as ipr:
                ipr.link("add", ifname=name, kind="veth", peer={"ifname": "eth0", "net_ns_fd": fd})
                idx = ipr.link_lookup(ifname=name)[0]
                ipr.addr("add", index=idx, address=OUTSIDE_HOST_SIDE, prefixlen=24)
                ipr.link("set", index=idx, state="up")
        finally:
            os.close(fd)
        with IPRoute(netns=str(ns)) as nsr:
            idx = nsr.link_lookup(ifname="eth0")[0]
            nsr.addr("add", index=idx, address=OUTSIDE, prefixlen=24)
            nsr.link("set", index=idx, state="up")
        yield ns
    finally:
        netlink.delete_link(name)
        netlink.delete_netns(ns)


def test_outbound_connection_is_masqueraded(net: Net, outside: Path) -> None:
    server = subprocess.Popen(
        ["nsenter", f"--net={outside}", sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        r = net.run("sh", "-c", f"nc -w 5 {OUTSIDE} 9000 </dev/null", flags=("--rm",))
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"seen {OUTSIDE_HOST_SIDE}"  # not the container's 10.213.x address
        assert server.wait(10) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert net.leftovers() == []


CLIENT = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode().split("\\r\\n\\r\\n", 1)[-1], end="")
"""


def test_published_port_reachable_from_the_outside_host(net: Net, outside: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
    net.detach("httpd", "-f", "-p", "80", "-h", "/www", flags=("--name", "pub", "-p", f"{port}:80"))
    out = ""
    for _ in range(100):
        r = subprocess.run(["nsenter", f"--net={outside}", sys.executable, "-c", CLIENT, OUTSIDE_HOST_SIDE, str(port)],
                           capture_output=True, text=True, timeout=30)  # fmt: skip
        out = r.stdout
        if r.returncode == 0:
            break
    assert out == "hello from the container\n"
    net.ok("rm", "-f", "pub")
    r = subprocess.run(["nsenter", f"--net={outside}", sys.executable, "-c", CLIENT, OUTSIDE_HOST_SIDE, str(port)],
                       capture_output=True, text=True, timeout=30)  # fmt: skip
    assert r.returncode != 0  # the rule went with the container
    assert net.leftovers() == []
