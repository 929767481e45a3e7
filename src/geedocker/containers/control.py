"""Observing and steering a running container through its cgroup: pause/unpause (the freezer, v1 or v2), top (its
processes), update (limits applied to the live cgroup and kept in the record), rename, port.

``pause`` leaves a marker (``$RUN/paused/<id>``, holding the pid and start time of the container's process) that
``ps`` and ``inspect`` read for one file open instead of the freezer: it counts only while that process runs,
so a container killed while frozen is never shown paused afterwards. The engine's containers all live in the
cgroup ``engine_cgroups_path(id)``, whichever OCI runtime runs them, so these work the same for each.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from geedocker.containers.engine import Engine
from geedocker.containers.options import RunOptions
from geedocker.containers.plan import engine_cgroups_path
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.refresh import refresh
from geedocker.containers.store import event
from geedocker.errors import ContainerError, GeeDockerError, UsageError
from geedocker.runtime.cgroups import Cgroup, for_container
from geedocker.store.layout import Layout
from geedocker.values import replace


class DaemonError(ContainerError):
    """What dockerd answers with an error response: exit 1, after docker's prefix."""

    exit_code = 1
    prefix = "Error response from daemon: "


def cgroup_of(rec: ContainerRecord) -> Cgroup:
    return for_container(engine_cgroups_path(rec.id), rec.id)


def _marker(layout: Layout, cid: str) -> str:
    return str(Engine.of(layout).containers.paused_marker(cid))


def is_paused(layout: Layout, rec: ContainerRecord) -> bool:
    return Engine.of(layout).containers.is_paused(rec)


def _running(layout: Layout, ref: str) -> ContainerRecord:
    rec = refresh(layout, Engine.of(layout).containers.resolve(ref))
    if rec.state.status != Status.RUNNING:
        raise DaemonError(f"Container {rec.id} is not running")
    return rec


def pause(layout: Layout, ref: str) -> ContainerRecord:
    rec = _running(layout, ref)
    cg = cgroup_of(rec)
    if cg.frozen():
        raise DaemonError(f"Container {rec.id} is already paused")
    cg.freeze()
    from geedocker.store.fsutil import atomic_write

    mark = f"{rec.state.pid}:{rec.state.pid_start}".encode()
    atomic_write(Engine.of(layout).containers.paused_marker(rec.id), mark, durable=False)
    event(layout, rec, "pause")
    return rec


def unpause(layout: Layout, ref: str) -> ContainerRecord:
    rec = refresh(layout, Engine.of(layout).containers.resolve(ref))
    if not is_paused(layout, rec):
        raise DaemonError(f"Container {rec.id} is not paused")
    cgroup_of(rec).thaw()
    with contextlib.suppress(OSError):
        os.unlink(_marker(layout, rec.id))
    event(layout, rec, "unpause")
    return rec


def pids(layout: Layout, ref: str) -> tuple[ContainerRecord, list[int]]:
    rec = _running(layout, ref)
    return rec, sorted(cgroup_of(rec).pids())


def top(layout: Layout, ref: str, ps_args: list[str]) -> tuple[list[str], list[list[str]]]:
    """``docker top``: the host's ``ps`` (``-ef`` unless told otherwise) limited to the container's processes,
    as dockerd does it: (titles, rows)."""
    import subprocess  # here: only top runs ps

    rec, procs = pids(layout, ref)
    args = ps_args or ["-ef"]
    try:
        out = subprocess.run(["ps", *args], capture_output=True, text=True, check=True, timeout=30).stdout
    except FileNotFoundError as e:
        raise DaemonError("ps is not installed on the host") from e
    except subprocess.CalledProcessError as e:
        raise DaemonError(f"Error running ps: {e.stderr.strip() or e}") from e
    lines = out.splitlines()
    if not lines:
        return [], []
    titles = lines[0].split()
    try:
        col = titles.index("PID")
    except ValueError as e:
        raise DaemonError(f"Couldn't find PID field in ps output ({rec.name})") from e
    wanted = set(procs)
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in wanted:
            rows.append(fields)
    event(layout, rec, "top")  # as dockerd: once ps answered
    return titles, rows


def rename(layout: Layout, ref: str, new: str) -> None:
    """``docker rename``: the name index moves under the containers lock."""
    from geedocker.containers.flags import validate_name
    from geedocker.errors import NameConflictError
    from geedocker.store.fsutil import file_lock

    store = Engine.of(layout).containers
    rec = store.resolve(ref)  # first, as dockerd: a missing container is the error, whatever the new name
    try:
        new = validate_name(new.lstrip("/"))
    except UsageError as e:
        text = str(e).replace(f"({new})", f"(/{new.lstrip('/')})", 1)  # dockerd checks it with its "/"
        raise DaemonError(f"Error when allocating new name: {text}") from e
    if rec.name == new:
        raise DaemonError("Renaming a container with the same name as its current name")
    with file_lock(layout.lock("containers")):
        if not store.names.claim(new, rec.id):
            raise NameConflictError(
                f'Error when allocating new name: Conflict. The container name "/{new}" is already in use by '
                f'container "{store.names.owner(new)}". You have to remove (or rename) that container to be able '
                "to reuse that name."
            )
        try:
            store.update(rec.id, lambda r: replace(r, name=new, options=replace(r.options, name=new)))
        except BaseException:
            store.names.release(new, rec.id)
            raise
        store.names.release(rec.name, rec.id)
    event(layout, replace(rec, name=new), "rename", oldName="/" + rec.name)


def update(layout: Layout, refs: list[str], changes: RunOptions, given: set[str]) -> list[str]:
    """``docker update``: each container's record takes the changed limits; a running one's cgroup too. The
    fields in ``given`` (memory, memory_swap, nano_cpus, cpu_shares, pids_limit) are taken from ``changes``."""
    from geedocker.runtime.spec_resources import Resources

    done = []
    store = Engine.of(layout).containers
    for ref in refs:
        rec = refresh(layout, store.resolve(ref))
        opts = rec.options
        new = replace(opts, **{k: getattr(changes, k) for k in given})
        if "memory" in given and "memory_swap" not in given and new.memory is not None:
            # docker: a new memory limit without a swap limit keeps swap at twice memory if it was so
            doubled = opts.memory_swap in (None, 2 * (opts.memory or 0))
            new = replace(new, memory_swap=2 * new.memory if doubled else opts.memory_swap)
        if new.memory is not None and new.memory_swap not in (None, -1) and new.memory_swap < new.memory:
            raise UsageError("Minimum memoryswap limit should be larger than memory limit, see usage")
        if rec.options.rm and new.restart:
            raise UsageError("Cannot update container: --restart is not allowed with --rm (AutoRemove)")
        if rec.state.status == Status.RUNNING and given - {"restart"}:
            res = Resources(
                memory_limit=new.memory if "memory" in given else None,
                memory_swap=new.memory_swap if {"memory", "memory_swap"} & given else None,
                cpu_shares=new.cpu_shares if "cpu_shares" in given else None,
                cpu_quota=(new.nano_cpus * 100_000 // 1_000_000_000 if new.nano_cpus else -1)
                if "nano_cpus" in given else None,
                cpu_period=100_000 if "nano_cpus" in given else None,
                pids_limit=(new.pids_limit if new.pids_limit and new.pids_limit > 0 else -1)
                if "pids_limit" in given else None,
            )  # fmt: skip
            try:
                cgroup_of(rec).apply(res)
            except GeeDockerError as e:
                raise DaemonError(f"Cannot update container {rec.id}: {e}") from e
        fields = ("memory", "memory_swap", "nano_cpus", "cpu_shares", "pids_limit", "restart")
        kept = {k: getattr(new, k) for k in fields}
        updated = store.update(rec.id, _with_limits(kept))
        event(layout, updated, "update")  # as dockerd's
        done.append(ref)
    return done


def _with_limits(kept: dict[str, object]) -> Callable[[ContainerRecord], ContainerRecord]:
    return lambda r: replace(r, options=replace(r.options, **kept))


def port_lines(layout: Layout, ref: str, private: str = "") -> list[str]:
    """``docker port``: ``80/tcp -> 0.0.0.0:8080`` for each published port (or the host side of ``private``)."""
    from geedocker.network.netstate import load_state

    rec = Engine.of(layout).containers.resolve(ref)
    st = load_state(layout, rec.id)
    ports = sorted(st.ports, key=lambda p: (p.container_port, p.protocol, p.host_port)) if st else []
    want_port, _, want_proto = private.partition("/")
    out = []
    for p in ports:
        if private and (str(p.container_port) != want_port or p.protocol != (want_proto or "tcp")):
            continue
        host = f"{p.host_ip or '0.0.0.0'}:{p.host_port}"
        out.append(host if private else f"{p.container_port}/{p.protocol} -> {host}")
    if private and not out:
        key = private if "/" in private else private + "/tcp"
        raise DaemonError(f"No public port '{key}' published for {rec.name}")
    return out
