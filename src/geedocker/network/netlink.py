"""Links, addresses, routes and network namespaces, through netlink (pyroute2), and the sysctls we set.

A container's network namespace is a file (``$RUN/netns/<id>``) on which ``/proc/<pid>/ns/net`` of a
short-lived forked child is bind-mounted, as ``ip netns add`` does; the runtime joins it by path.
pyroute2 is imported lazily (it costs ~0.2 s): ``--network host`` never loads it.

Sysctls: ``net.ipv4.ip_forward=1`` (containers' traffic is routed through the host) and
``net.ipv4.conf.<bridge>.route_localnet=1`` (a published port reached on 127.0.0.1 is DNATed to a
container: the packet keeps its 127.0.0.1 source until the postrouting masquerade, and the kernel
drops such packets on a device without route_localnet).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import importlib
import importlib.util
import ipaddress
import os
import socket
import struct
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geedocker.errors import NetworkError

if TYPE_CHECKING:
    from pyroute2.iproute.linux import IPRoute

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def _iproute_class() -> type[IPRoute]:
    """pyroute2's IPRoute, importing only its rtnetlink part when pyroute2 is not loaded yet.

    ``import pyroute2`` runs a package ``__init__`` that loads every netlink family it knows (ipset,
    nl80211, wireguard, NDB, conntrack...): 0.1-0.2 s on the container start path. With a temporary
    bare package module in ``sys.modules`` only ``pyroute2.iproute.linux`` and what it needs are
    loaded; the stand-in is removed afterwards, so a later ``import pyroute2`` runs the real one.
    """
    loaded = sys.modules.get("pyroute2.iproute.linux")
    if loaded is None and "pyroute2" not in sys.modules:
        spec = importlib.util.find_spec("pyroute2")
        if spec is not None and spec.submodule_search_locations is not None:
            stand_in = types.ModuleType("pyroute2")
            stand_in.__path__ = list(spec.submodule_search_locations)
            sys.modules["pyroute2"] = stand_in
            try:
                loaded = importlib.import_module("pyroute2.iproute.linux")
            finally:
                if sys.modules.get("pyroute2") is stand_in:
                    del sys.modules["pyroute2"]
    if loaded is None:
        loaded = importlib.import_module("pyroute2.iproute.linux")
    cls: type[IPRoute] = loaded.IPRoute
    return cls


def _iproute(netns: Path | None = None) -> IPRoute:
    IPRoute = _iproute_class()  # noqa: N806 - the class
    try:
        return IPRoute(netns=str(netns)) if netns is not None else IPRoute()
    except OSError as e:
        raise NetworkError(f"opening netlink{f' in {netns}' if netns else ''}: {e.strerror or e}") from None


def _nlerr(what: str, e: Exception) -> NetworkError:
    code = getattr(e, "code", None)
    detail = os.strerror(code) if isinstance(code, int) and code > 0 else str(e)
    return NetworkError(f"{what}: {detail}")


def write_sysctl(name: str, value: str) -> None:
    path = Path("/proc/sys") / name.replace(".", "/")
    try:
        if path.read_text().strip() == value:
            return
        path.write_text(value + "\n")
    except OSError as e:
        raise NetworkError(f"setting {name}={value}: {e.strerror}") from None


def bridge_sysctls(bridge: str) -> None:
    write_sysctl("net.ipv4.ip_forward", "1")
    write_sysctl(f"net.ipv4.conf.{bridge}.route_localnet", "1")


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def ensure_bridge(name: str, gateway: ipaddress.IPv4Address, prefixlen: int) -> None:
    """The bridge ``name`` exists, is up and holds ``gateway/prefixlen`` (made if missing)."""
    with _iproute() as ipr:
        idx = ipr.link_lookup(ifname=name)
        if not idx:
            try:
                ipr.link("add", ifname=name, kind="bridge")
            except Exception as e:  # noqa: BLE001 - pyroute2 raises NetlinkError and others
                if getattr(e, "code", 0) != errno.EEXIST:
                    raise _nlerr(f"creating bridge {name}", e) from None
            idx = ipr.link_lookup(ifname=name)
        if not idx:
            raise NetworkError(f"bridge {name} vanished while it was being made")
        index = idx[0]
        have = {a.get("address") for a in ipr.get_addr(index=index, family=socket.AF_INET)}
        if str(gateway) not in have:
            try:
                ipr.addr("add", index=index, address=str(gateway), prefixlen=prefixlen)
            except Exception as e:  # noqa: BLE001
                if getattr(e, "code", 0) != errno.EEXIST:
                    raise _nlerr(f"adding {gateway}/{prefixlen} to bridge {name}", e) from None
        ipr.link("set", index=index, state="up")
    bridge_sysctls(name)


def delete_link(name: str) -> bool:
    """Delete link ``name`` if it exists (a veth takes its peer along); True if it did."""
    with _iproute() as ipr:
        idx = ipr.link_lookup(ifname=name)
        if not idx:
            return False
        try:
            ipr.link("del", index=idx[0])
        except Exception as e:  # noqa: BLE001
            if getattr(e, "code", 0) in (errno.ENODEV, errno.ENOENT):
                return False
            raise _nlerr(f"deleting link {name}", e) from None
        return True


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def create_netns(path: Path) -> None:
    """A new network namespace (loopback up) pinned at ``path``.

    The calling thread unshares its network namespace, bind-mounts it on ``path``, brings ``lo`` up and
    returns to its own namespace with setns(2) (network namespaces are per thread): no fork."""
    from geedocker.runtime import syscalls

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    except FileExistsError:
        raise NetworkError(f"network namespace {path} already exists") from None
    os.close(fd)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.unshare(syscalls.CLONE_NEWNET)
        try:
            syscalls.mount("/proc/thread-self/ns/net", str(path), "none", syscalls.MS_BIND)
            _loopback_up()
        finally:
            syscalls.setns(own, syscalls.CLONE_NEWNET)
    except OSError as e:
        delete_netns(path)
        raise NetworkError(f"creating network namespace {path}: {e.strerror or e}") from None
    finally:
        os.close(own)


def is_mountpoint(path: Path) -> bool:
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == str(path) for line in f)
    except OSError:
        return False


def delete_netns(path: Path) -> None:
    """Unmount and remove a namespace file made by ``create_netns`` (nothing if it is gone)."""
    from geedocker.runtime import syscalls

    while is_mountpoint(path):
        try:
            syscalls.umount2(str(path), syscalls.MNT_DETACH)
        except OSError as e:
            raise NetworkError(f"unmounting network namespace {path}: {e.strerror}") from None
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def add_veth(
    *,
    host_name: str,
    bridge: str,
    netns: Path,
    ifname: str,
    address: ipaddress.IPv4Address,
    prefixlen: int,
    mac: str,
    gateway: ipaddress.IPv4Address | None,
) -> None:
    """A veth pair: ``host_name`` on ``bridge``; its peer ``ifname`` inside ``netns`` with the address
    (and, with ``gateway``, the default route). On failure the pair is removed."""
    try:
        fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise NetworkError(f"opening network namespace {netns}: {e.strerror}") from None
    try:
        with _iproute() as ipr:
            br = ipr.link_lookup(ifname=bridge)
            if not br:
                raise NetworkError(f"bridge {bridge} does not exist")
            try:
                ipr.link("add", ifname=host_name, kind="veth", peer={"ifname": ifname, "net_ns_fd": fd})
            except Exception as e:  # noqa: BLE001
                raise _nlerr(f"creating veth {host_name}", e) from None
            try:
                idx = ipr.link_lookup(ifname=host_name)[0]
                ipr.link("set", index=idx, master=br[0], state="up")
                ipr.brport("set", index=idx, mode=1)  # hairpin: a container may reach its own published port
            except Exception as e:  # noqa: BLE001
                _quiet_delete(ipr, host_name)
                raise _nlerr(f"attaching {host_name} to bridge {bridge}", e) from None
    finally:
        os.close(fd)
    try:
        with _iproute(netns) as ns:
            idx = ns.link_lookup(ifname=ifname)
            if not idx:
                raise NetworkError(f"{ifname} did not appear in {netns}")
            ns.link("set", index=idx[0], address=mac)
            ns.addr("add", index=idx[0], address=str(address), prefixlen=prefixlen)
            ns.link("set", index=idx[0], state="up")
            if gateway is not None:
                ns.route("add", dst="0.0.0.0/0", gateway=str(gateway))
    except NetworkError:
        delete_link(host_name)
        raise
    except Exception as e:  # noqa: BLE001
        delete_link(host_name)
        raise _nlerr(f"configuring {ifname} in {netns}", e) from None


def _quiet_delete(ipr: Any, name: str) -> None:
    with contextlib.suppress(Exception):
        idx = ipr.link_lookup(ifname=name)
        if idx:
            ipr.link("del", index=idx[0])


def mac_for(address: ipaddress.IPv4Address) -> str:
    """Docker's MAC address: 02:42 then the IPv4 address's four bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in address.packed)
