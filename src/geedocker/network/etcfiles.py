"""The container's /etc/hosts and /etc/resolv.conf (pure text builders).

resolv.conf: the host's file with loopback name servers (127.0.0.0/8, ::1) dropped, because they
are the host's own resolver and unreachable from a private network namespace. If none is left the
container gets no ``nameserver`` line (the resolver then tries 127.0.0.1 inside the container and
fails fast); we do not invent a public server as docker does, since this project never sends traffic
to the outside on its own. ``--dns`` replaces the name servers, ``--dns-search``/``--dns-option``
the search and options lines. With ``--network host`` the host's file is used as is.
"""

from __future__ import annotations

import _socket
from collections.abc import Iterable, Sequence

from geedocker.values import value

LOCALHOST = (
    ("127.0.0.1", ("localhost",)),
    ("::1", ("localhost", "ip6-localhost", "ip6-loopback")),
    ("fe00::0", ("ip6-localnet",)),
    ("ff00::0", ("ip6-mcastprefix",)),
    ("ff02::1", ("ip6-allnodes",)),
    ("ff02::2", ("ip6-allrouters",)),
)
MAX_RESOLV_BYTES = 64 * 1024


@value
class HostEntry:
    address: str
    names: tuple[str, ...]

    def line(self) -> str:
        return f"{self.address}\t{' '.join(self.names)}"


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for n in names:
        if n and n not in out:
            out.append(n)
    return tuple(out)


def hosts_text(
    *,
    own: Sequence[HostEntry] = (),
    extra: Sequence[tuple[str, str]] = (),
    peers: Sequence[HostEntry] = (),
) -> str:
    """localhost lines, ``--add-host`` entries, the container's own addresses, then its peers'."""
    lines = [HostEntry(a, n).line() for a, n in LOCALHOST]
    lines += [HostEntry(ip, (name,)).line() for name, ip in extra]
    lines += [HostEntry(e.address, _unique(e.names)).line() for e in own if e.names]
    lines += [HostEntry(e.address, _unique(e.names)).line() for e in peers if e.names]
    return "\n".join(lines) + "\n"


def _is_loopback(text: str) -> bool:
    """127.0.0.0/8 or ::1 (as ipaddress's ``is_loopback``, without importing it: ~2 ms of every start)."""
    addr = text.split("%")[0]
    for family, size in ((_socket.AF_INET, 4), (_socket.AF_INET6, 16)):
        try:
            packed = _socket.inet_pton(family, addr)
        except OSError:
            continue
        return packed[0] == 127 if size == 4 else packed == bytes(15) + b"\x01"
    return False


def resolv_text(
    host_text: str,
    *,
    dns: Sequence[str] = (),
    search: Sequence[str] = (),
    options: Sequence[str] = (),
    keep_loopback: bool = False,
) -> str:
    """The container's resolv.conf from the host's (see the module's docstring for the rules)."""
    servers: list[str] = []
    host_search: list[str] = []
    host_options: list[str] = []
    for raw in host_text[:MAX_RESOLV_BYTES].splitlines():
        parts = raw.split()
        if not parts or parts[0].startswith(("#", ";")):
            continue
        if parts[0] == "nameserver" and len(parts) >= 2:
            if keep_loopback or not _is_loopback(parts[1]):
                servers.append(parts[1])
        elif parts[0] in ("search", "domain"):
            host_search = parts[1:]
        elif parts[0] == "options":
            host_options += parts[1:]
    servers = list(dns) or servers
    search_ = list(search) or host_search
    options_ = list(options) or host_options
    lines = [f"nameserver {s}" for s in servers]
    if search_ and search_ != ["."]:
        lines.append("search " + " ".join(search_))
    if options_:
        lines.append("options " + " ".join(options_))
    return "\n".join(lines) + "\n" if lines else ""
