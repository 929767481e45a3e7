"""A container's filesystem changes: ``diff`` (A/C/D), ``export`` (the merged tree as a tar), ``commit``.

All three read the container's overlay dirs (``containers/<id>/upper`` over its image's layer dirs) as they
are on disk, a running container's too, and no mount is made; ``commit`` freezes a running one meanwhile
(docker's ``--pause``, its default).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from geedocker.archive.writer import tar_stream
from geedocker.containers.engine import Engine
from geedocker.containers.plan import merge_env
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import event
from geedocker.errors import ContainerError
from geedocker.images.layerdiff import Change, UpperDiff, write_layer
from geedocker.oci import ContainerConfig
from geedocker.store.images import ImageRecord
from geedocker.store.layout import Layout
from geedocker.values import replace

# What docker's init layer holds: made for the runtime's use, never part of a commit or a diff.
RUNTIME_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/.dockerenv", "/dev/console")


def runtime_paths(bundle: Path) -> list[str]:
    """The mount targets the bundle's config.json names (the runtime made those that were missing)."""
    try:
        spec = json.loads((bundle / "config.json").read_bytes())
    except (OSError, ValueError):
        spec = {}
    dests = [str(m.get("destination", "")) for m in spec.get("mounts") or [] if isinstance(m, dict)]
    return sorted({*RUNTIME_FILES, *(d for d in dests if d)})


def upper_diff(layout: Layout, rec: ContainerRecord) -> UpperDiff:
    store = Engine.of(layout).containers
    upper = store.dir(rec.id) / "upper"
    if not upper.is_dir():
        raise ContainerError(f"container {rec.name} has no filesystem (upper dir missing)")
    return UpperDiff(upper, [Path(p) for p in rec.lower_dirs], runtime_paths(store.bundle(rec.id)))


def diff(layout: Layout, ref: str) -> list[Change]:
    """``docker diff``: the paths the container added, changed or deleted, sorted."""
    rec = Engine.of(layout).containers.resolve(ref)
    return upper_diff(layout, rec).changes()


def export(layout: Layout, ref: str, out: BinaryIO) -> None:
    """``docker export``: the container's merged filesystem as a plain tar on ``out``."""
    from geedocker.images.union import write_tree

    store = Engine.of(layout).containers
    rec = store.resolve(ref)
    layers = [store.dir(rec.id) / "upper", *(Path(p) for p in rec.lower_dirs)]
    event(layout, rec, "export")  # as dockerd: when the archive is ready, before it streams
    with tar_stream(out) as tw:
        write_tree(tw, layers)


def container_config(rec: ContainerRecord) -> ContainerConfig:
    """The run config a commit keeps: the image's, with what the container was created with on top."""
    cfg = rec.image_config
    opts = rec.options
    if opts.entrypoint is not None:
        cfg = replace(cfg, entrypoint=tuple(opts.entrypoint.split()) if opts.entrypoint else None)
    if opts.command:
        cfg = replace(cfg, cmd=tuple(opts.command))
    if opts.env:
        cfg = replace(cfg, env=tuple(merge_env(cfg.env, opts.env)))
    if opts.workdir:
        cfg = replace(cfg, working_dir=opts.workdir)
    if opts.user:
        cfg = replace(cfg, user=opts.user)
    if opts.labels:
        cfg = replace(cfg, labels=tuple(sorted({**dict(cfg.labels), **dict(opts.labels)}.items())))
    return cfg


@contextlib.contextmanager
def _frozen(layout: Layout, rec: ContainerRecord, pause: bool) -> Iterator[None]:
    from geedocker.containers.refresh import refresh

    rec = refresh(layout, rec)
    if not pause or rec.state.status != Status.RUNNING:
        yield
        return
    from geedocker.containers.control import cgroup_of

    cg = cgroup_of(rec)
    if cg.frozen():  # paused by the user: it stays paused
        yield
        return
    cg.freeze()
    try:
        yield
    finally:
        cg.thaw()


def commit(
    layout: Layout,
    ref: str,
    name: str | None = None,
    *,
    changes: Sequence[str] = (),
    message: str = "",
    author: str = "",
    pause: bool = True,
) -> ImageRecord:
    """``docker commit``: a new image of the container's image layers plus one layer of its changes.

    ``pause`` (docker's default): a running container is frozen (its cgroup's freezer) while its upper dir is
    read, so the layer is one moment of it; thawed after, whatever happens. One paused already stays so."""
    from geedocker.images.compose import Base, now, register_layer, write_image
    from geedocker.images.importer import apply_change

    store = Engine.of(layout).containers
    rec = store.resolve(ref)
    parent = Engine.of(layout).images.resolve(rec.image_id) if rec.image_id else None
    base = Base.of(parent)
    with _frozen(layout, rec, pause):
        d = upper_diff(layout, rec)
        blob = write_layer(d, Engine.of(layout).blobs.writer())
    register_layer(layout, base.diff_ids, blob)
    cfg = container_config(rec)
    for c in changes:
        cfg = apply_change(cfg, c)
    created = now()
    hist: dict[str, object] = {"created": created, "created_by": " ".join(rec.args)}
    if message:
        hist["comment"] = message
    if author:
        hist["author"] = author
    extra: dict[str, object] = {"container": rec.id}
    if author:
        extra["author"] = author
    image = write_image(
        layout, base.with_layer(blob, hist), cfg, names=[name] if name else [], created=created, extra=extra
    )
    from geedocker import reference as refs

    event(layout, rec, "commit", comment=message, imageID=str(image.config_digest),
          imageRef=refs.parse(name).familiar() if name else "")  # fmt: skip
    return image
