"""geedocker's own nftables table: NAT for bridge networks and published ports (never other tables).

The whole table is regenerated from geedocker's state and replaced in one atomic transaction
(``table``; ``delete table``; ``table {...}``) through libnftables, the library behind ``nft`` (no process
to start), so a crash never leaves half a rule set. With nothing to do the table is deleted. The table's
comment holds a fingerprint of its rules: a change that would commit the same rules is skipped (a commit
waits ~15 ms in the kernel).

    table ip geedocker {
      chain prerouting   nat/prerouting:  packets to a local address -> jump publish
      chain output       nat/output:      the same for the host's own connections (127.0.0.1 too)
      chain publish      one DNAT per published port: [ip daddr HOSTIP] tcp dport P dnat to CIP:CP
      chain postrouting  nat/postrouting: masquerade a subnet leaving its bridge (outbound NAT);
                         masquerade 127.0.0.0/8 sources entering a bridge (published port on 127.0.0.1,
                         needs net.ipv4.conf.<bridge>.route_localnet=1); masquerade a container
                         reaching a published port on its own network through a host address (so
                         the reply comes back through the host; also a container's own port)
      chain forward      filter/forward: drop traffic from one geedocker bridge to another (isolation),
                         except to published ports
    }

The table is ``geedocker`` for the default store and ``geedocker-<8 hex of the root path>`` for any
other ``--root`` (so test stores never rewrite the real one's rules); ``GEEDOCKER_NFT_TABLE`` overrides.
"""

from __future__ import annotations

import ipaddress
import os
import re

from geedocker.errors import NetworkError
from geedocker.store.layout import DEFAULT_ROOT, Layout
from geedocker.values import value

_TABLE_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")
_IFNAME_RE = re.compile(r"^[a-zA-Z0-9_.:-]{1,15}$")


@value(order=True)
class BridgeNat:
    bridge: str
    subnet: ipaddress.IPv4Network


@value(order=True)
class PortForward:
    protocol: str
    host_port: int
    container_ip: ipaddress.IPv4Address
    container_port: int
    host_ip: str = ""  # "" = every local address


@value
class Ruleset:
    networks: tuple[BridgeNat, ...] = ()
    ports: tuple[PortForward, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.networks and not self.ports


def table_name(layout: Layout) -> str:
    env = os.environ.get("GEEDOCKER_NFT_TABLE", "")
    if env:
        if not _TABLE_RE.match(env):
            raise NetworkError(f"invalid GEEDOCKER_NFT_TABLE {env!r}")
        return env
    if layout.root == DEFAULT_ROOT:
        return "geedocker"
    import zlib  # not hashlib: loading OpenSSL costs ms on the container start path

    return f"geedocker-{zlib.crc32(str(layout.root).encode()):08x}"


def _ifname(name: str) -> str:
    if not _IFNAME_RE.match(name):
        raise NetworkError(f"refusing to put interface name {name!r} in a firewall rule")
    return f'"{name}"'


def _port_rule(p: PortForward) -> str:
    if p.protocol not in ("tcp", "udp"):
        raise NetworkError(f"unknown protocol {p.protocol!r}")
    match = f"ip daddr {ipaddress.IPv4Address(p.host_ip)} " if p.host_ip else ""
    return f"{match}{p.protocol} dport {int(p.host_port)} dnat to {p.container_ip}:{int(p.container_port)}"


def script(rules: Ruleset, table: str) -> str:
    """The ``nft -f`` script that makes ``table`` hold exactly ``rules`` (or removes it when empty)."""
    if not _TABLE_RE.match(table):
        raise NetworkError(f"invalid nftables table name {table!r}")
    head = f"table ip {table}\ndelete table ip {table}\n"
    if rules.empty:
        return head
    nets = sorted(set(rules.networks))
    lines = [f"table ip {table} {{"]
    lines += [
        "  chain prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        "    fib daddr type local jump publish",
        "  }",
        "  chain output {",
        "    type nat hook output priority -100; policy accept;",
        "    fib daddr type local jump publish",
        "  }",
        "  chain publish {",
    ]
    lines += [f"    {_port_rule(p)}" for p in sorted(set(rules.ports))]
    lines += [
        "  }",
        "  chain postrouting {",
        "    type nat hook postrouting priority srcnat; policy accept;",
    ]
    for n in nets:
        br = _ifname(n.bridge)
        lines.append(f"    ip saddr {n.subnet} oifname != {br} masquerade")
        lines.append(f"    oifname {br} ip saddr 127.0.0.0/8 masquerade")
        lines.append(f"    oifname {br} ip saddr {n.subnet} ct status dnat masquerade")
    lines += [
        "  }",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
    ]
    bridges = sorted({n.bridge for n in nets})
    if len(bridges) > 1:
        lines.append("    ct status dnat accept")  # a published port is reachable from every network
    for b in bridges:
        others = [o for o in bridges if o != b]
        if others:
            lines.append(f"    iifname {_ifname(b)} oifname {{ {', '.join(_ifname(o) for o in others)} }} drop")
    lines += ["  }", "}"]
    body = "\n".join(lines) + "\n"
    # the fingerprint of the rules, kept in the table's comment: ``apply`` skips a transaction that
    # would change nothing
    return head + body.replace("{\n", f'{{\n  comment "{FINGERPRINT_PREFIX}{fingerprint(body)}"\n', 1)


FINGERPRINT_PREFIX = "geedocker rules "


def fingerprint(body: str) -> str:
    import zlib

    return f"{zlib.crc32(body.encode()):08x}-{len(body)}"


def apply(rules: Ruleset, table: str) -> None:
    """Make ``table`` hold exactly ``rules``, in one transaction (libnftables, as ``nft -f`` would).

    Each commit of a ruleset waits in the kernel (~15 ms here), so the table's comment records what it
    holds, and a change that would leave it as it is (or delete a table that is not there) is skipped."""
    text = script(rules, table)
    want = _comment_of(text)
    if _current_comment(table) == want:
        return
    run(text, f"geedocker's rules for table {table}")


def _comment_of(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('comment "') and line.endswith('"'):
            return line[len('comment "'):-1]
    return None


def _current_comment(table: str) -> str | None:
    """The comment of ``table`` as the kernel has it: None if there is no such table ("" if no comment)."""
    code, out, _ = _nft(f"list table ip {table}")
    if code != 0:
        return None
    return _comment_of(out) or ""


def run(text: str, what: str) -> None:
    """Run an nft script through libnftables (the library behind the ``nft`` command; no process to start)."""
    code, _, err = _nft(text)
    if code != 0:
        raise NetworkError(f"nft refused {what}: {err.strip()[:2000] or 'no reason given'}")


def _nft(text: str) -> tuple[int, str, str]:
    """libnftables' ``nft_run_cmd_from_buffer``: its status, output and error text."""
    import ctypes

    try:
        lib = ctypes.CDLL("libnftables.so.1")
    except OSError as e:
        raise NetworkError("libnftables is missing: install nftables") from e
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    for name in ("nft_ctx_free", "nft_ctx_buffer_output", "nft_ctx_buffer_error"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
        getattr(lib, name).restype = ctypes.c_char_p
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    ctx = lib.nft_ctx_new(0)  # NFT_CTX_DEFAULT
    if not ctx:
        raise NetworkError("libnftables could not make a context")
    try:
        lib.nft_ctx_buffer_output(ctx)  # keep its output and errors off our stdout/stderr
        lib.nft_ctx_buffer_error(ctx)
        code = int(lib.nft_run_cmd_from_buffer(ctx, text.encode()))
        out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode(errors="replace")
        err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace")
        return code, out, err
    finally:
        lib.nft_ctx_free(ctx)


def delete(table: str) -> None:
    apply(Ruleset(), table)
