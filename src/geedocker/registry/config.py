"""How to talk to registries: insecure hosts, per-registry CAs (certs.d), timeouts, retries."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from geedocker.values import value

if TYPE_CHECKING:
    from geedocker.registry.credentials import CredentialSource

DEFAULT_CERTS_DIRS = (Path("/etc/docker/certs.d"), Path("/etc/containers/certs.d"))
USER_AGENT = "geedocker/0.1"


def split_host(host: str) -> tuple[str, int | None]:
    """``"h:5000"`` -> ``("h", 5000)``; ``"[::1]:5000"`` -> ``("::1", 5000)``; no port -> None."""
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[1:end], host[end + 1 :]
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        return name, int(port)
    return host, None


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 and ::1 (with or without a port): docker lets these use plain HTTP."""
    name, _ = split_host(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    if not name[:1].isdigit() and ":" not in name:
        return False  # a DNS name: no need for ipaddress (~2 ms)
    import ipaddress

    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# environment variable -> the RegistryConfig field it sets (seconds, or a count for retries)
ENV_DEADLINES = {
    "GEEDOCKER_REGISTRY_CONNECT_TIMEOUT": "connect_timeout",
    "GEEDOCKER_REGISTRY_RESPONSE_TIMEOUT": "read_timeout",
    "GEEDOCKER_REGISTRY_STALL_TIMEOUT": "stall_timeout",
    "GEEDOCKER_REGISTRY_MAX_RETRY_AFTER": "max_retry_after",
    "GEEDOCKER_REGISTRY_RETRIES": "retries",
}


def _env_number(var: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    count = var.endswith(("RETRIES", "RETRY_AFTER"))  # may be 0; a timeout of 0 would never wait at all
    if not (0 <= v if count else 0 < v) or v == float("inf") or var.endswith("RETRIES") and v != int(v):
        from geedocker.errors import UsageError

        raise UsageError(f"{var}={text!r}: expected {'0 or more' if count else 'a positive number of seconds'}")
    return v


@value
class RegistryConfig:
    """Settings shared by every registry client (frozen; make another to change one)."""

    insecure_registries: tuple[str, ...] = ()
    certs_dirs: tuple[Path, ...] = DEFAULT_CERTS_DIRS
    credentials: CredentialSource | None = None
    user_agent: str = USER_AGENT
    # Deadlines (docker's dialer gives up a connection after 30 s; each has an environment override, see
    # ``from_env``): connecting; the first byte of an answer (and any silence of that length); a transfer that
    # brings fewer than ``stall_bytes`` in ``stall_timeout`` seconds (a registry that trickles) is broken off and
    # resumed, ``retries`` times at most; a Retry-After is honoured up to ``max_retry_after`` seconds.
    connect_timeout: float = 30.0
    read_timeout: float = 60.0
    stall_timeout: float = 60.0
    stall_bytes: int = 16 * 1024
    retries: int = 4
    retry_base_delay: float = 0.5
    retry_max_delay: float = 10.0
    max_retry_after: float = 30.0
    max_parallel: int = 4
    chunk_size: int = 8 * 1024 * 1024

    @classmethod
    def from_env(cls) -> RegistryConfig:
        """Defaults, with ``GEEDOCKER_INSECURE_REGISTRIES`` (comma list) and ``GEEDOCKER_CERTS_D`` applied."""
        insecure = tuple(x.strip() for x in os.environ.get("GEEDOCKER_INSECURE_REGISTRIES", "").split(",") if x.strip())
        certs = os.environ.get("GEEDOCKER_CERTS_D")
        dirs = tuple(Path(p) for p in certs.split(":") if p) if certs else DEFAULT_CERTS_DIRS
        cfg = cls(insecure_registries=insecure, certs_dirs=dirs)
        changes: dict[str, float] = {}
        for var, field in ENV_DEADLINES.items():
            text = os.environ.get(var)
            if text:
                changes[field] = _env_number(var, text)
        if changes:
            from geedocker.values import replace

            if "retries" in changes:
                changes["retries"] = int(changes["retries"])
            cfg = replace(cfg, **changes)
        return cfg

    def is_insecure(self, host: str) -> bool:
        """Listed as insecure (by ``host:port``, ``host`` or a CIDR): TLS unverified and plain HTTP allowed."""
        name, _ = split_host(host)
        for entry in self.insecure_registries:
            if entry in (host, name):
                return True
            if "/" in entry:
                import ipaddress

                try:
                    if ipaddress.ip_address(name) in ipaddress.ip_network(entry, strict=False):
                        return True
                except ValueError:
                    continue
        return False

    def may_use_http(self, host: str) -> bool:
        """Whether plain HTTP may be tried when HTTPS fails: insecure registries and loopback ones."""
        return self.is_insecure(host) or is_loopback(host)

    def certs_dir_for(self, host: str) -> Path | None:
        """The first ``certs.d/<host[:port]>`` directory that exists."""
        for base in self.certs_dirs:
            d = base / host
            if d.is_dir():
                return d
        return None

    def tls_files(self, host: str) -> tuple[list[Path], list[tuple[Path, Path]]]:
        """``(CA files, [(client cert, client key)])`` from certs.d, the way docker reads that directory."""
        d = self.certs_dir_for(host)
        if d is None:
            return [], []
        cas = sorted(p for p in d.iterdir() if p.name.endswith(".crt") and p.is_file())
        pairs: list[tuple[Path, Path]] = []
        for cert in sorted(p for p in d.iterdir() if p.name.endswith(".cert")):
            key = cert.with_suffix(".key")
            if not key.is_file():
                from geedocker.errors import TransportError

                raise TransportError(f"client certificate {cert} has no matching key {key.name}")
            pairs.append((cert, key))
        return cas, pairs
