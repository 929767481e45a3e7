"""``import``: make a one-layer image from a root filesystem tarball (plain, gzip or zstd), and the
Dockerfile-like ``--change`` instructions that ``import`` and ``commit`` take.

The layer is written as a gzip blob; the image is a ``ComposedImage`` of it, stored by ``images.writer``."""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import BinaryIO

from geedocker import reference as refs
from geedocker.digest import Digest
from geedocker.errors import UsageError
from geedocker.images.compose import Base, ComposedImage, now
from geedocker.images.writer import store_image
from geedocker.oci import ContainerConfig, Descriptor, MediaType, Platform
from geedocker.store.blobs import CHUNK, BlobStore
from geedocker.store.images import ImageRecord
from geedocker.store.layout import Layout
from geedocker.values import replace

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def apply_change(cfg: ContainerConfig, change: str) -> ContainerConfig:
    """One Dockerfile-like ``--change``: CMD ENTRYPOINT ENV EXPOSE LABEL ONBUILD USER VOLUME WORKDIR STOPSIGNAL."""
    word, _, rest = change.strip().partition(" ")
    word, rest = word.upper(), rest.strip()

    def argv() -> tuple[str, ...]:
        if rest.startswith("["):
            try:
                v = json.loads(rest)
            except ValueError as e:
                raise UsageError(f"--change {change!r}: invalid JSON array") from e
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise UsageError(f"--change {change!r}: expected a JSON array of strings")
            return tuple(v)
        return ("/bin/sh", "-c", rest)

    if word == "CMD":
        return replace(cfg, cmd=argv())
    if word == "ENTRYPOINT":
        return replace(cfg, entrypoint=argv())
    if word == "WORKDIR":
        return replace(cfg, working_dir=rest)
    if word == "USER":
        return replace(cfg, user=rest)
    if word == "STOPSIGNAL":
        return replace(cfg, stop_signal=rest)
    if word == "ENV":
        pairs = shlex.split(rest)
        if len(pairs) >= 2 and "=" not in pairs[0]:
            pairs = [f"{pairs[0]}={' '.join(pairs[1:])}"]
        env = list(cfg.env)
        for p in pairs:
            key = p.split("=", 1)[0]
            env = [e for e in env if e.split("=", 1)[0] != key] + [p]
        return replace(cfg, env=tuple(env))
    if word == "LABEL":
        labels = dict(cfg.labels)
        for p in shlex.split(rest):
            k, _, v = p.partition("=")
            labels[k] = v
        return replace(cfg, labels=tuple(sorted(labels.items())))
    if word == "VOLUME":
        vols = set(cfg.volumes)
        vols.update(argv() if rest.startswith("[") else rest.split())
        return replace(cfg, volumes=tuple(sorted(vols)))
    if word == "ONBUILD":
        return cfg.with_key("OnBuild", [*(cfg.get("OnBuild") or []), rest])
    if word == "EXPOSE":
        ports = set(cfg.exposed_ports)
        for p in rest.split():
            ports.add(p if "/" in p else f"{p}/tcp")
        return replace(cfg, exposed_ports=tuple(sorted(ports)))
    raise UsageError(f"--change {change!r}: unsupported instruction {word!r}")


def import_rootfs(
    layout: Layout,
    source: BinaryIO,
    name: str | None,
    *,
    changes: tuple[str, ...] = (),
    platform: Platform | None = None,
    message: str = "",
) -> ImageRecord:
    """Turn a root filesystem tarball into a one-layer image; tag it ``name`` if given."""
    from isal import igzip

    from geedocker.archive.compression import open_decompressed

    ref = refs.parse(name) if name else None
    if ref is not None and ref.digest is not None:
        raise UsageError(f"cannot import to a digest reference: {name}")
    layout.ensure()
    cfg = ContainerConfig(env=(DEFAULT_PATH,))
    for c in changes:
        cfg = apply_change(cfg, c)
    plat = platform or Platform.host()
    blobs = BlobStore(layout)
    diff_hash = hashlib.sha256()
    with blobs.writer() as out:
        with igzip.IGzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:  # type: ignore[no-untyped-call]
            _, plain = open_decompressed(source)
            while chunk := plain.read(CHUNK):
                diff_hash.update(chunk)
                gz.write(chunk)  # type: ignore[no-untyped-call]
    diff_id = Digest("sha256", diff_hash.hexdigest())
    layer = Descriptor(MediaType.OCI_LAYER_GZIP.value, out.digest, blobs.size(out.digest))
    created = now()
    history = {"created": created, "created_by": "geedocker import", "comment": message or "imported"}
    image = ComposedImage(blobs, Base((layer,), (diff_id,), (history,), plat), cfg, created=created)
    rec = store_image(layout, image, names=[str(ref)] if ref else [])
    from geedocker.images import events

    if ref is not None:  # docker: the tag, then the import
        events.tagged(layout, rec, str(ref))
    events.by_id(layout, rec, "import")
    return rec
