"""A container's endpoint lives while it runs: its monitor makes it at start and releases it at the exit,
whether the container stopped, exited on its own, or its ``run`` was killed (SIGKILL) at any moment."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geedocker.containers.store import ContainerStore
from geedocker.network.netstate import load_state
from tests.network.conftest import Net, nft_tables

pytestmark = pytest.mark.root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def _engine_cgroups(cid: str) -> list[str]:
    base = Path("/sys/fs/cgroup")
    return [str(d / "geedocker" / cid) for d in base.iterdir() if (d / "geedocker" / cid).exists()]


def _dnat_rules(net: Net) -> list[str]:
    if net.table not in nft_tables():
        return []
    listed = subprocess.run(["nft", "list", "table", "ip", net.table], capture_output=True, text=True, check=True)
    return [line.strip() for line in listed.stdout.splitlines() if " dnat to " in line]


def test_stop_releases_the_endpoint_and_start_takes_a_new_one(net: Net) -> None:
    port = _free_port()
    cid = net.detach("sleep", "60", flags=("--name", "st", "-p", f"{port}:80"))
    veth = load_state(net.layout, cid).endpoints[0].host_veth  # type: ignore[union-attr]
    assert net.ip_of("st") == f"{net.prefix}.2" and os.path.exists(f"/sys/class/net/{veth}")
    assert len(_dnat_rules(net)) >= 1
    net.ok("stop", "-t", "0", "st")
    # docker's: a stopped container holds no address, veth, namespace, rule or host port
    assert net.leftovers() == []
    assert net.ip_of("st") == "" and net.inspect("st")["NetworkSettings"]["Ports"] == {}
    assert net.inspect("st")["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
    assert net.ok("port", "st") == ""
    other = net.detach("sleep", "60", flags=("-p", f"{port}:80"))  # its host port is free for another
    r = net.cli("start", "st")
    assert r.returncode != 0 and "port is already allocated" in r.stderr
    assert net.inspect("st")["State"]["Status"] != "running"
    net.ok("rm", "-f", other)
    assert net.leftovers() == []  # the failed start left nothing either
    net.ok("start", "st")
    addr = net.ip_of("st")
    assert addr.startswith(f"{net.prefix}.")
    r = net.cli("exec", "st", "ip", "-o", "-4", "addr", "show", "eth0")
    assert f"{addr}/24" in r.stdout, r.stderr
    assert net.ok("port", "st").strip() == f"80/tcp -> 0.0.0.0:{port}"
    net.ok("rm", "-f", "st")
    assert net.leftovers() == []


def test_a_requested_ip_comes_back_at_start(net: Net) -> None:
    net.detach("sleep", "60", flags=("--name", "fixed", "--ip", f"{net.prefix}.77"))
    net.ok("stop", "-t", "0", "fixed")
    assert net.leftovers() == []
    assert net.inspect("fixed")["NetworkSettings"]["Networks"]["bridge"]["IPAMConfig"] == {
        "IPv4Address": f"{net.prefix}.77"}
    net.ok("start", "fixed")
    assert net.ip_of("fixed") == f"{net.prefix}.77"


def test_an_exit_on_its_own_releases_the_endpoint(net: Net) -> None:
    cid = net.detach("sleep", "0.2", flags=("--name", "brief"))
    net.wait_for("its exit", lambda: net.inspect(cid)["State"]["Status"] == "exited")
    net.wait_for("its endpoint to go", lambda: net.leftovers() == [])
    assert net.ip_of(cid) == ""


def test_stopped_containers_leave_addresses_for_new_ones_on_a_small_subnet(net: Net) -> None:
    subnet = f"10.214.{net.k}.0/29"  # 8 addresses: network, gateway, broadcast and 5 for containers
    net.ok("network", "create", "--subnet", subnet, "tiny")
    for i in range(5):
        net.detach("sleep", "60", flags=("--network", "tiny", "--name", f"old{i}"))
    r = net.run("true", flags=("--network", "tiny", "--rm"))
    assert r.returncode != 0 and "no free address" in r.stderr  # the pool is full while they run
    net.ok("stop", "-t", "0", *[f"old{i}" for i in range(5)])
    for i in range(5):  # while only stopped containers exist, new ones get addresses
        net.detach("sleep", "60", flags=("--network", "tiny", "--name", f"new{i}"))
        assert net.ip_of(f"new{i}", "tiny").startswith(f"10.214.{net.k}.")
    r = net.cli("start", "old0")  # and now a stopped one finds the pool full, as in docker
    assert r.returncode != 0 and "no free address" in r.stderr
    assert net.inspect("old0")["State"]["Status"] != "running"
    net.ok("rm", "-f", *[f"new{i}" for i in range(5)])
    net.ok("start", "old0")
    assert net.ip_of("old0", "tiny").startswith(f"10.214.{net.k}.")


def _cli_process(net: Net, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "geedocker", *args], env=net.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0])
def test_run_rm_killed_at_any_moment_leaves_nothing_once_the_container_ends(net: Net, delay: float) -> None:
    """SIGKILL to ``run --rm`` at increasing delays: before the start the container stays (created, as
    docker leaves it) and ``rm -f`` removes it completely; after it, the monitor removes it at its exit."""
    port = _free_port()
    addr = f"{net.prefix}.50"
    store = ContainerStore(net.layout)
    proc = _cli_process(net, "run", "--rm", "--name", "victim", "--ip", addr, "-p", f"{port}:80",
                        "--rootfs", str(net.rootfs), "sleep", "0.5")
    try:
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    net.wait_for("the container to end", lambda: all(r.state.status != "running" for r in store.list()))
    left = store.list()
    if left:  # killed before the start: it stays, as docker leaves a created one; rm -f takes it all
        assert [r.state.status for r in left] in (["created"], ["exited"]), left
        time.sleep(0.5)  # a monitor that started it is still removing it: let it finish first
        for rec in store.list():
            net.ok("rm", "-f", rec.id)
            assert _engine_cgroups(rec.id) == []
    net.wait_for("nothing left", lambda: store.list() == [] and net.leftovers() == [])
    assert _dnat_rules(net) == []
    # the address is free again: a container asking for it gets it
    r = net.run("true", flags=("--rm", "--ip", addr))
    assert r.returncode == 0, r.stderr
    assert [c for c in os.listdir(net.layout.containers) if not c.startswith(".")] == []


def test_attached_run_killed_leaves_the_monitor_to_record_the_exit(net: Net) -> None:
    proc = _cli_process(net, "run", "--name", "att", "--rootfs", str(net.rootfs), "sh", "-c", "sleep 0.5; exit 3")
    store = ContainerStore(net.layout)
    try:
        net.wait_for("it to run", lambda: any(r.state.status == "running" for r in store.list()))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    net.wait_for("its exit", lambda: store.resolve("att").state.status == "exited")
    rec = store.resolve("att")
    assert rec.state.exit_code == 3 and rec.state.finished_at  # recorded by the monitor, not a later ps
    assert rec.state.error == ""
    net.wait_for("its endpoint to go", lambda: net.leftovers() == [])
    net.ok("rm", "att")
    assert net.leftovers() == []
