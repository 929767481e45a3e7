"""--network none, host and container:NAME; --dns, --dns-search, --add-host and --hostname in /etc files."""

from __future__ import annotations

import pytest

from tests.network.conftest import Net

pytestmark = pytest.mark.root

SERVER = "while true; do echo pong-$(hostname) | nc -l -p 7000; done"


def default_dev() -> str:
    with open("/proc/net/route") as f:
        for line in list(f)[1:]:
            cols = line.split()
            if cols[1] == "00000000":
                return cols[0]
    pytest.skip("no default route")


def test_none_has_only_loopback_up(net: Net) -> None:
    r = net.run(
        "sh", "-c", "ip -o link; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-ok", flags=("--rm", "--network", "none")
    )
    assert r.returncode == 0, r.stderr
    links = [line.split(":")[1].strip() for line in r.stdout.splitlines() if ": " in line]
    assert links == ["lo"] and "UP" in r.stdout.splitlines()[0]
    assert r.stdout.strip().endswith("lo-ok")
    assert net.leftovers() == []


def test_host_shares_the_host_network(net: Net) -> None:
    dev = default_dev()
    mac = open(f"/sys/class/net/{dev}/address").read().strip()
    r = net.run("sh", "-c", f"cat /sys/class/net/{dev}/address; cat /etc/hosts; echo ===; cat /etc/resolv.conf",
                flags=("--rm", "--network", "host", "--add-host", "extra.test:10.213.250.250"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    first, rest = r.stdout.split("\n", 1)
    assert first == mac
    hosts, resolv = rest.split("===\n")
    assert hosts.startswith(open("/etc/hosts").read()) and "10.213.250.250\textra.test" in hosts
    assert resolv == open("/etc/resolv.conf").read()
    assert not (net.layout.netns.exists() and any(net.layout.netns.iterdir()))
    assert net.leftovers() == []


def test_container_mode_shares_the_namespace(net: Net) -> None:
    net.detach("sh", "-c", SERVER, flags=("--name", "owner", "-h", "ownerhost"))
    ip = net.ip_of("owner")
    r = net.run("sh", "-c", "ip -o -4 addr show eth0; echo hi | nc -w 3 127.0.0.1 7000; cat /etc/hosts",
                flags=("--rm", "--network", "container:owner"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"inet {ip}/24" in r.stdout and "pong-ownerhost" in r.stdout
    assert f"{ip}\townerhost owner" in r.stdout  # the owner's /etc/hosts
    r = net.run("true", flags=("--network", "container:nobody"))
    assert r.returncode == 125 and "No such container" in r.stderr
    net.ok("rm", "-f", "owner")
    assert net.leftovers() == []


def test_dns_search_add_host_hostname(net: Net) -> None:
    flags = (
        "--rm", "--dns", "10.213.250.53", "--dns-search", "corp.test", "--dns-option", "ndots:2",
        "--add-host", "db.test:10.213.250.7", "--add-host", "gw.test:host-gateway", "-h", "myhost", "--name", "named",
    )  # fmt: skip
    r = net.run("sh", "-c", "cat /etc/resolv.conf; echo ===; cat /etc/hosts; echo ===; hostname", flags=flags)
    assert r.returncode == 0, r.stderr
    resolv, hosts, hostname = r.stdout.split("===\n")
    assert resolv == "nameserver 10.213.250.53\nsearch corp.test\noptions ndots:2\n"
    lines = hosts.splitlines()
    assert "10.213.250.7\tdb.test" in lines and f"{net.prefix}.1\tgw.test" in lines
    assert f"{net.prefix}.2\tmyhost named" in lines and lines[0] == "127.0.0.1\tlocalhost"
    assert hostname.strip() == "myhost"


def test_resolv_conf_drops_loopback_servers(net: Net) -> None:
    r = net.run("cat", "/etc/resolv.conf", flags=("--rm",))
    assert r.returncode == 0, r.stderr
    servers = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("nameserver")]
    host = [line.split()[1] for line in open("/etc/resolv.conf") if line.startswith("nameserver")]
    assert servers == [s for s in host if not s.startswith("127.") and s != "::1"]
