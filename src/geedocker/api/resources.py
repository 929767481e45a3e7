"""``/containers/{id}/update`` and ``/containers/{id}/stats``: a container's resources, thin over
``containers.control.update`` and ``containers.stats`` (what ``geedocker update`` and ``geedocker stats`` use).

Update: docker's CLI sends the whole ``Resources`` struct, zero in every field it was not given: zero (and a null
``PidsLimit``, an empty restart policy name) means "unchanged", as for dockerd. A field geedocker cannot change
(``CpuQuota``, ``CpusetCpus``, ``BlkioWeight``...) is a 400 naming it when it is not zero.

Stats: docker's ``StatsJSON`` (the cgroup v1 shape its CLI reads on either cgroup version): ``cpu_stats`` and
``precpu_stats`` (the sample one interval earlier, so a client computes CPU % from one object), memory usage
(already without inactive file pages, so ``stats`` is empty and the CLI subtracts nothing), the limit, block I/O,
pids, and the container's interfaces but ``lo`` as one ``eth0``. ``stream`` sends one a second until the
container stops; without it, one object after a second's sampling, or at once with ``one-shot`` (``precpu_stats``
then empty). A container that does not run gets docker's empty object (its name and id, zeros).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from geedocker.api.errors import ApiError
from geedocker.api.messages import Request, Response, json_response
from geedocker.containers.engine import Engine
from geedocker.containers.record import ContainerRecord, Status
from geedocker.errors import ContainerNotFound, GeeDockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.containers.stats import Sample

INTERVAL = 1.0  # docker's collector samples every second
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, what docker sends for a missing sample

_BLKIO = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
          "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive", "sectors_recursive")  # fmt: skip

# Resources fields dockerd updates that geedocker does not; a non-zero value is refused
_UNSUPPORTED = ("CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems",
                "BlkioWeight", "KernelMemory", "KernelMemoryTCP", "MemoryReservation", "CpuCount", "CpuPercent",
                "IOMaximumIOps", "IOMaximumBandwidth")  # fmt: skip


def _record(req: Request) -> ContainerRecord:
    from geedocker.containers.refresh import refresh

    try:
        return refresh(req.layout, Engine.of(req.layout).containers.resolve(req.params["id"]))
    except ContainerNotFound as e:
        raise ApiError(404, f"No such container: {req.params['id']}") from e


# ---------------------------------------------------------------- update


def _int(body: dict[str, Any], key: str) -> int:
    v = body.get(key) or 0
    if not isinstance(v, int) or isinstance(v, bool):
        raise ApiError(400, f"{key}: an integer was expected")
    return v


def update(req: Request) -> Response:
    from geedocker.containers import control, flags
    from geedocker.containers.options import RunOptions
    from geedocker.containers.restart import parse

    body = req.json()
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    for key in _UNSUPPORTED:
        if body.get(key):
            raise ApiError(400, f"updating {key} is not supported by geedocker")
    given: set[str] = set()
    memory, swap, nano, shares = (_int(body, k) for k in ("Memory", "MemorySwap", "NanoCpus", "CpuShares"))
    if memory:
        if memory < flags.MIN_MEMORY:
            raise ApiError(400, "Minimum memory limit allowed is 6MB")
        given.add("memory")
    if swap:
        given.add("memory_swap")
    if nano:
        given.add("nano_cpus")
    if shares:
        given.add("cpu_shares")
    pids = body.get("PidsLimit")
    if pids is not None:
        if not isinstance(pids, int):
            raise ApiError(400, "PidsLimit: an integer was expected")
        given.add("pids_limit")
    restart = ""
    policy = body.get("RestartPolicy") or {}
    if not isinstance(policy, dict):
        raise ApiError(400, "RestartPolicy: a JSON object was expected")
    name = str(policy.get("Name") or "")
    if name:
        count = policy.get("MaximumRetryCount") or 0
        restart = parse(f"{name}:{count}" if name == "on-failure" and count else name)
        given.add("restart")
    changes = RunOptions(memory=memory or None, memory_swap=swap or None, nano_cpus=nano or None,
                         cpu_shares=shares or None, pids_limit=pids, restart=restart)  # fmt: skip
    rec = _record(req)
    if given:
        control.update(req.layout, [rec.id], changes, given)
    return json_response({"Warnings": None})  # dockerd's, when there is none


# ---------------------------------------------------------------- stats


def _cpu(s: Sample | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "cpu_usage": {"total_usage": s.cpu_ns if s else 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }
    if s is not None:  # dockerd leaves them out when zero
        doc.update(system_cpu_usage=s.system_ns, online_cpus=s.online_cpus)
    return doc


def stats_json(rec: ContainerRecord, now: Sample | None, before: Sample | None, read: str,
               preread: str) -> dict[str, Any]:  # fmt: skip
    """docker's StatsJSON for ``rec`` from two samples (either may be missing: zeros)."""
    blkio: dict[str, Any] = {k: [] if now else None for k in _BLKIO}  # dockerd: empty lists while it runs
    if now is not None:
        blkio["io_service_bytes_recursive"] = [{"major": 0, "minor": 0, "op": "Read", "value": now.blk_read},
                                               {"major": 0, "minor": 0, "op": "Write", "value": now.blk_write}]
    doc: dict[str, Any] = {
        "read": read,
        "preread": preread,
        "pids_stats": {"current": now.pids} if now else {},
        "blkio_stats": blkio,
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": _cpu(now),
        "precpu_stats": _cpu(before),
        "memory_stats": {"usage": now.mem_usage, "stats": {}, "limit": now.mem_limit} if now else {},
        "name": "/" + rec.name,
        "id": rec.id,
    }
    if now is not None and rec.options.network != "none":
        doc["networks"] = {"eth0": {"rx_bytes": now.net_rx, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0,
                                    "tx_bytes": now.net_tx, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0}}
    return doc


def _sample(req: Request, rec: ContainerRecord) -> tuple[ContainerRecord, Sample | None, str]:
    """The container's current record and a sample of it (None once it does not run), with its time."""
    from geedocker.containers import stats
    from geedocker.containers.refresh import refresh
    from geedocker.timefmt import now_rfc3339

    try:
        cur = refresh(req.layout, Engine.of(req.layout).containers.load(rec.id))
    except GeeDockerError:
        return rec, None, ZERO_TIME
    if cur.state.status != Status.RUNNING:
        return cur, None, ZERO_TIME
    try:
        return cur, stats.sample(cur), now_rfc3339(nanoseconds=True)
    except (GeeDockerError, OSError):
        return cur, None, ZERO_TIME


def stats(req: Request) -> Response:
    rec = _record(req)
    stream = req.flag("stream", True)
    one_shot = req.flag("one-shot")
    if one_shot and stream:
        raise ApiError(400, "cannot have stream=true and one-shot=true")
    rec, first, first_at = _sample(req, rec)
    if first is None:  # not running: docker's empty answer (a stream of them ends at once too)
        return json_response(stats_json(rec, None, None, ZERO_TIME, ZERO_TIME))
    if not stream:
        if one_shot:
            return json_response(stats_json(rec, first, None, first_at, ZERO_TIME))
        time.sleep(INTERVAL)  # a CPU % needs two samples
        rec, now, now_at = _sample(req, rec)
        return json_response(stats_json(rec, now or first, first if now else None, now_at if now else first_at,
                                        first_at if now else ZERO_TIME))  # fmt: skip

    def body() -> Iterator[bytes]:
        cur, before, before_at = rec, first, first_at
        yield json.dumps(stats_json(cur, before, None, before_at, ZERO_TIME)).encode() + b"\n"
        while True:
            deadline = time.monotonic() + INTERVAL
            while time.monotonic() < deadline:
                if req.client_gone():
                    return
                time.sleep(0.1)
            cur, now, now_at = _sample(req, cur)
            if now is None:
                return  # the container stopped: docker's stream ends with it
            yield json.dumps(stats_json(cur, now, before, now_at, before_at)).encode() + b"\n"
            before, before_at = now, now_at

    return Response(200, body())
