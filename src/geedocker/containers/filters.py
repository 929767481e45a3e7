"""``ps --filter``: docker's filter keys and their semantics (moby's daemon/list.go).

Values of one key are ORed, keys are ANDed; ``name`` and ``id`` are regular expressions searched in the name
(with docker's leading "/") and the full id; every ``label`` must hold. An unknown key or a bad value is an
error the daemon would answer (exit 1).
"""

from __future__ import annotations

import re

from geedocker.containers.engine import Engine
from geedocker.containers.record import ContainerRecord, Status
from geedocker.errors import DaemonError, GeeDockerError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.store.layout import Layout

KEYS = {"ancestor", "before", "exited", "expose", "health", "id", "label", "name", "network", "publish", "since",
        "status", "volume", "is-task"}
STATES = {"created", "restarting", "running", "removing", "paused", "exited", "dead"}


class FilterError(DaemonError):
    """A filter the daemon refuses: docker's "Error response from daemon: ..." (exit 1)."""


def parse_filters(specs: list[str]) -> dict[str, list[str]]:
    """``K=V`` flags -> {key: values}; a flag without "=" is a flag error (125) as docker's CLI has it."""
    out: dict[str, list[str]] = {}
    for f in specs:
        key, eq, val = f.partition("=")
        if not eq:
            raise UsageError(f"bad format of filter (expected name=value): {f}")
        out.setdefault(key.strip().lower(), []).append(val)
    return out


def check_keys(filters: dict[str, list[str]], accepted: set[str]) -> None:
    for key in filters:
        if key not in accepted:
            raise FilterError(f"Invalid filter '{key}'")


def search_patterns(patterns: list[str], text: str) -> bool:
    for p in patterns:
        if p == text:
            return True
        try:
            if re.search(p, text):
                return True
        except re.error as e:
            raise FilterError(f"invalid filter value {p!r}: {e}") from e
    return False


def match_labels(wanted: list[str], labels: dict[str, str]) -> bool:
    """docker's MatchKVList: every K (present) or K=V (equal) must hold."""
    for w in wanted:
        k, eq, v = w.partition("=")
        if k not in labels or (eq and labels[k] != v):
            return False
    return True


def _ports(key: str, values: list[str]) -> list[tuple[int, int, str]]:
    out = []
    for v in values:
        spec, _, proto = v.partition("/")
        lo, _, hi = spec.partition("-")
        try:
            out.append((int(lo), int(hi or lo), proto or "tcp"))
        except ValueError as e:
            raise FilterError(f"error while looking up for {key} {v}: strconv.ParseUint: parsing "
                              f"{spec!r}: invalid syntax".replace("'", '"')) from e
    return out


def _port_match(ranges: list[tuple[int, int, str]], ports: list[tuple[int, str]]) -> bool:
    return any(lo <= p <= hi and proto == pr for lo, hi, pr in ranges for p, proto in ports)


def filter_records(layout: Layout, records: list[ContainerRecord], specs: list[str],
                   all_: bool) -> list[ContainerRecord]:
    """The records ps shows, newest first as given: running ones unless all_ (or a status filter)."""
    f = parse_filters(specs)
    check_keys(f, KEYS)
    for s in f.get("status", []):
        if s not in STATES:
            raise FilterError(f"Invalid filter 'status={s}'")
        all_ = True
    for h in f.get("health", []):
        if h not in ("starting", "healthy", "unhealthy", "none"):
            raise FilterError(f"Unrecognised filter value for health: {h}")
    for t in f.get("is-task", []):
        if t not in ("true", "false"):
            raise FilterError(f"Invalid filter 'is-task=[{t}]'")
    exited: list[int] = []
    for e in f.get("exited", []):
        try:
            exited.append(int(e))
        except ValueError as err:
            raise FilterError(f'strconv.Atoi: parsing "{e}": invalid syntax') from err
    store = Engine.of(layout).containers
    def created(ref: str) -> str:
        try:
            return store.resolve(ref).created
        except GeeDockerError as e:
            raise FilterError(f"no such container {ref}") from e

    before = [created(v) for v in f.get("before", [])]
    since = [created(v) for v in f.get("since", [])]
    publish = _ports("publish", f.get("publish", []))
    expose = _ports("expose", f.get("expose", []))
    out = []
    for r in records:
        status = r.state.status
        if not all_ and status != Status.RUNNING:
            continue
        if "status" in f and status.value not in f["status"]:
            continue
        if "id" in f and not search_patterns(f["id"], r.id):
            continue
        if "name" in f and not search_patterns(f["name"], "/" + r.name):
            continue
        if "label" in f and not match_labels(f["label"], r.labels):
            continue
        if exited and not (status != Status.RUNNING and r.state.started_at and r.state.exit_code in exited):
            continue
        if "health" in f:
            from geedocker.containers import health  # here: only this filter reads the health files

            if health.status(layout, r) not in f["health"]:
                continue
        if "is-task" in f and "true" in f["is-task"] and "false" not in f["is-task"]:
            continue
        if before and not all(r.created < b for b in before):
            continue
        if since and not all(r.created > s for s in since):
            continue
        if "ancestor" in f and not any(a in (r.image, r.image_id, r.image_id.removeprefix("sha256:")) or
                                       r.image_id.removeprefix("sha256:").startswith(a) for a in f["ancestor"]):
            continue
        if "volume" in f and not any(v in (m.source, m.target) for m in r.options.mounts for v in f["volume"]):
            continue
        if "network" in f and r.options.net.mode not in f["network"]:
            continue
        published = [(p.container_port, p.protocol) for p in r.options.net.ports]
        if publish and not _port_match(publish, published):
            continue
        if expose:
            exposed = [(int(e.partition("/")[0]), e.partition("/")[2] or "tcp") for e in r.image_config.exposed_ports]
            if not _port_match(expose, exposed + published):
                continue
        out.append(r)
    return out
