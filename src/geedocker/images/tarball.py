"""``save`` and ``load``: image archives in docker's format, with the OCI layout inside.

``save`` writes what docker 25+ writes: ``manifest.json`` and ``repositories`` (the docker-archive that
``docker load``, ``podman load`` and ``skopeo copy docker-archive:`` read) plus ``oci-layout``,
``index.json`` and ``blobs/sha256/`` (an OCI image layout). Blobs are written as they are stored, so the
manifest digest survives a round trip.

``load`` reads docker archives (old style: ``<id>/layer.tar``; new style: ``blobs/sha256/``) and OCI
layout archives (podman, skopeo, docker): their images (``images.tarimage``) go into the store through
``images.writer``, as pulled ones do. Every blob is verified against its digest; layers against the
config's diff IDs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from geedocker import reference as refs
from geedocker.digest import Digest
from geedocker.errors import ArchiveError, InvalidReference, VerificationError
from geedocker.images.image import BlobReader, Image, LocalImage
from geedocker.images.tarimage import NAME_ANNOTATION, REF_ANNOTATION, TarArchive, docker_images, oci_images
from geedocker.images.writer import store_image
from geedocker.oci import Descriptor, MediaType
from geedocker.store.blobs import CHUNK, BlobStore
from geedocker.store.images import ImageRecord, ImageStore
from geedocker.store.layout import Layout
from geedocker.values import value


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    ti.mtime = mtime
    tf.addfile(ti, io.BytesIO(data))


def _add_dir(tf: tarfile.TarFile, name: str, mtime: int) -> None:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    ti.mtime = mtime
    tf.addfile(ti)


def save(layout: Layout, names: list[str], out: BinaryIO) -> list[ImageRecord]:
    """Write the images ``names`` (tags or IDs) to ``out`` as one archive."""
    store = ImageStore(layout)
    blobs = BlobStore(layout)
    records: list[tuple[ImageRecord, list[str]]] = []
    for name in names:
        rec = store.resolve(name)
        tags: list[str] = []
        with contextlib.suppress(InvalidReference):
            r = refs.parse(name)
            if r.digest is None and not refs.looks_like_id(name):
                tags.append(str(r))
        if not tags and refs.looks_like_id(name):
            tags = list(rec.tags)
        records.append((rec, tags))
    mtime = 0
    written: set[Digest] = set()
    docker_manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    index_entries: list[dict[str, Any]] = []
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        _add_dir(tf, "blobs", mtime)
        _add_dir(tf, "blobs/sha256", mtime)
        for rec, tags in records:
            image = LocalImage(blobs, rec)
            manifest = Descriptor(rec.manifest.media_type, rec.manifest_digest, blobs.size(rec.manifest_digest))
            for desc in [image.manifest().config, manifest, *image.manifest().layers]:
                d = desc.digest
                if d in written:
                    continue
                written.add(d)
                ti = tarfile.TarInfo(f"blobs/{d.algorithm}/{d.hex}")
                ti.size = desc.size
                ti.mode = 0o644
                ti.mtime = mtime
                with image.open_blob(desc) as f:
                    checked = _Checked(f, d, desc.size)
                    tf.addfile(ti, checked)  # read() is all tarfile uses
                    checked.verify()
            layer_paths = [f"blobs/sha256/{d.hex}" for d in rec.layer_digests]
            familiar = [refs.parse(t).familiar() for t in tags]
            docker_manifest.append(
                {"Config": f"blobs/sha256/{rec.config_digest.hex}", "RepoTags": familiar or None,
                 "Layers": layer_paths}
            )
            for t in tags:
                r = refs.parse(t)
                repo = r.familiar().rsplit(":", 1)[0]
                if rec.layer_digests:
                    repositories.setdefault(repo, {})[r.tag or "latest"] = rec.layer_digests[-1].hex
            base = {"mediaType": rec.manifest.media_type, "digest": str(rec.manifest_digest),
                    "size": blobs.size(rec.manifest_digest)}
            if tags:
                for t in tags:
                    r = refs.parse(t)
                    index_entries.append({**base, "annotations": {NAME_ANNOTATION: str(r),
                                                                   REF_ANNOTATION: r.tag or "latest"}})
            else:
                index_entries.append(base)
        _add_bytes(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}', mtime)
        index = {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX.value, "manifests": index_entries}
        _add_bytes(tf, "index.json", json.dumps(index, separators=(",", ":")).encode(), mtime)
        _add_bytes(tf, "manifest.json", json.dumps(docker_manifest, separators=(",", ":")).encode(), mtime)
        if repositories:
            _add_bytes(tf, "repositories", json.dumps(repositories, separators=(",", ":")).encode(), mtime)
    _once_each(layout, [rec for rec, _ in records], "save")
    return [rec for rec, _ in records]


class _Checked:
    """A blob read into the archive, hashed on the way: ``save`` never exports a blob whose bytes are not what
    its digest says (a truncated or damaged file in the store)."""

    def __init__(self, f: BlobReader, digest: Digest, size: int) -> None:
        self._f = f
        self._digest = digest
        self._size = size
        self._hash = digest.hasher()
        self._read = 0

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._hash.update(data)
        self._read += len(data)
        if (n < 0 or len(data) < n) and self._read < self._size:
            # a short read is the file's end (tarfile would say "unexpected end of data")
            self._damaged(f"{self._read} of its {self._size} bytes")
        return data

    def verify(self) -> None:
        got = self._hash.hexdigest()
        if self._read != self._size or got != self._digest.hex:
            self._damaged(f"its bytes hash to {self._digest.algorithm}:{got}")

    def _damaged(self, why: str) -> None:
        raise VerificationError(f"blob {self._digest} in the store is damaged ({why}): not saved; pull the image again")


# --------------------------------------------------------------------------------------------- load


@value
class Loaded:
    record: ImageRecord
    names: tuple[str, ...]


def _store(layout: Layout, image: Image, names: list[str]) -> Loaded:
    """Write one image of the archive into the store, under those of its names that are tags."""
    tags = []
    for n in names:
        with contextlib.suppress(InvalidReference):
            r = refs.parse(n)
            if r.digest is None:
                tags.append(r)
    rec = store_image(layout, image, names=[str(r) for r in tags])
    return Loaded(rec, tuple(r.familiar() for r in tags))


@contextlib.contextmanager
def _seekable(source: BinaryIO | Path, tmpdir: Path) -> Iterator[Path]:
    """A regular file to read the archive from: ``source`` itself, or a copy of a stream, a pipe or a device."""
    if isinstance(source, Path) and source.is_file():
        yield source
        return
    fd, tmp = tempfile.mkstemp(dir=tmpdir, prefix="load-input-")
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(source, Path):
                with open(source, "rb") as src:
                    shutil.copyfileobj(src, f, CHUNK)
            else:
                shutil.copyfileobj(source, f, CHUNK)
        yield Path(tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def load(layout: Layout, source: BinaryIO | Path) -> list[Loaded]:
    """Load every image in a docker or OCI archive (a path, or a stream such as stdin)."""
    layout.ensure()
    shown = source if isinstance(source, Path) else "standard input"
    with _seekable(source, layout.tmp) as path:
        if path.stat().st_size == 0:
            raise ArchiveError(f"{shown}: empty input: not an image archive")
        try:
            archive = TarArchive(path, shown)
            try:
                if archive.has("manifest.json"):
                    images = docker_images(archive)
                elif archive.has("index.json"):
                    images = oci_images(archive)
                else:
                    raise ArchiveError(f"{shown}: neither manifest.json nor index.json: not an image archive")
                loaded = [_store(layout, image, names) for image, names in images]
            finally:
                archive.close()
        except (tarfile.TarError, EOFError) as e:  # a truncated stream ends inside a member or its header
            raise ArchiveError(f"{shown}: truncated or damaged archive: {e}") from e
    _once_each(layout, [x.record for x in loaded], "load")  # docker: one event an image, no tag events
    return loaded


def _once_each(layout: Layout, records: list[ImageRecord], action: str) -> None:
    """One ``action`` event for each image, however many times (names, archive entries) it comes."""
    from geedocker.images import events

    seen: set[Digest] = set()
    for rec in records:
        if rec.config_digest not in seen:
            seen.add(rec.config_digest)
            events.by_id(layout, rec, action)


