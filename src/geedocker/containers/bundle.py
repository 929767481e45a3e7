"""A container's bundle: the overlay mounted at its rootfs and its ``config.json``, written at create from the
plan and what the rootfs holds (user, volumes, network attachment, devices); at ``start``, the ``--device`` nodes
that were missing at create. Apart from ``create`` because it is what reads the mounted rootfs.
"""

from __future__ import annotations

import os
from pathlib import Path

from geedocker import network
from geedocker.containers import rootfs
from geedocker.containers.paths import mkdir_in_root
from geedocker.containers.plan import (
    INIT_DESTINATION,
    ContainerPlan,
    Resolved,
    custom_devices,
    host_devices,
)
from geedocker.containers.record import ContainerRecord
from geedocker.containers.spec import build_spec
from geedocker.containers.store import ContainerStore
from geedocker.containers.users import resolve_groups_in_rootfs, resolve_user_in_rootfs
from geedocker.network.options import NetworkRequest
from geedocker.oci import canonical_json
from geedocker.store.fsutil import atomic_write
from geedocker.values import replace


def write_bundle(store: ContainerStore, rec: ContainerRecord, plan: ContainerPlan, *, starting: bool) -> None:
    """Mount the overlay, resolve what the plan left to the rootfs (user, volumes), attach the network and
    write config.json (the overlay stays mounted). A ``--device`` node that is not there is left out unless the
    container is ``starting``: docker looks for it when the container starts (``add_devices``)."""
    cdir = store.dir(rec.id)
    root = store.rootfs(rec.id)
    rootfs.mount_overlay(cdir, [Path(p) for p in rec.lower_dirs], root, volatile=rec.options.rm)
    opts = plan.options
    user = resolve_user_in_rootfs(root, plan.user)
    mkdir_in_root(root, plan.workdir)
    (cdir / "hostname").write_text(plan.hostname + "\n")
    attachment = network.setup(store.layout, network_request(store, rec))  # what it asks, /etc files (made at start)
    mounts = opts.mounts
    if any(m.type == "volume" for m in opts.mounts):
        from geedocker.containers import volumes  # here: only containers with volumes need it

        mounts = volumes.for_spec(store.layout, rec)  # volumes as binds of their _data
        volumes.seed(store.layout, rec, root)  # new empty volumes get the image's content at their mount point
    if plan.init_path:
        _ensure_file(root, INIT_DESTINATION)
    if opts.group_add:
        gids = resolve_groups_in_rootfs(root, opts.group_add)
        user = replace(user, additional_gids=tuple(sorted({*user.additional_gids, *gids})))
    devices = host_devices() if opts.privileged else []
    if opts.devices:
        mine = custom_devices(opts.devices, missing_ok=not starting)
        devices = [d for d in devices if d["path"] not in {m["path"] for m in mine}] + mine
    resolved = Resolved(
        rootfs=str(root), user=user, mounts=mounts, hostname_file=str(cdir / "hostname"), devices=tuple(devices),
    )  # fmt: skip
    spec = build_spec(plan, resolved, attachment)  # the targets of its binds (/etc/hosts...) the runtime makes
    atomic_write(cdir / "config.json", canonical_json(spec), durable=False)  # remade by every create


def add_devices(store: ContainerStore, rec: ContainerRecord) -> None:
    """``start``: the ``--device`` nodes that were not there when the container was made go into its config.json
    (with their cgroup rules), or the start fails with docker's error for a node that is still missing."""
    import json

    mine = custom_devices(rec.options.devices)
    path = store.dir(rec.id) / "config.json"
    spec = json.loads(path.read_bytes())
    linux = spec.setdefault("linux", {})
    new = [d for d in mine if d["path"] not in {d["path"] for d in linux.get("devices", [])}]
    if not new:
        return
    linux["devices"] = [*linux.get("devices", []), *({k: v for k, v in d.items() if k != "access"} for d in new)]
    res = linux.setdefault("resources", {})
    rules = [{"allow": True, "type": d["type"], "major": d["major"], "minor": d["minor"], "access": d["access"]}
             for d in new]  # fmt: skip
    res["devices"] = [*res.get("devices", []), *rules]
    atomic_write(path, canonical_json(spec), durable=False)


def network_request(store: ContainerStore, rec: ContainerRecord) -> NetworkRequest:
    """What the network is asked for ``rec``; ``--network container:NAME`` resolved to that container's id."""
    opts = rec.options.net
    join_id = store.resolve(opts.container).id if opts.container else ""
    return NetworkRequest(rec.id, rec.name, rec.hostname, opts, rec.image_config.exposed_ports, join_id)


def _ensure_file(root: Path, path: str) -> None:
    from geedocker.containers.paths import secure_join

    d = mkdir_in_root(root, os.path.dirname(path))
    target = secure_join(root, path)
    if not target.exists() and target.parent == d:
        target.touch(0o644)
