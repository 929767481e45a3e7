"""``save`` and ``load``: image archives in docker's format, with the OCI layout inside.

``save`` writes what docker 25+ writes: ``manifest.json`` and ``repositories`` (the docker-archive that
``docker load``, ``podman load`` and ``skopeo copy docker-archive:`` read) plus ``oci-layout``,
``index.json`` and ``blobs/sha256/`` (an OCI image layout). Blobs are written as they are stored, so the
manifest digest survives a round trip.

``load`` reads docker archives (old style: ``<id>/layer.tar``; new style: ``blobs/sha256/``) and OCI
layout archives (podman, skopeo, docker). Every blob is verified against its digest; layers against the
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
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from geedocker import oci
from geedocker import reference as refs
from geedocker.digest import Digest
from geedocker.errors import ArchiveError, GeeDockerError, InvalidReference, ManifestError, VerificationError
from geedocker.images.image import BlobReader, LocalImage
from geedocker.oci import Descriptor, ImageConfig, Index, Manifest, MediaType, Platform
from geedocker.store.blobs import CHUNK, BlobStore
from geedocker.store.images import ImageRecord, ImageStore
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout
from geedocker.values import value

MAX_JSON = 16 << 20
NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


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


class _Archive:
    """Random access to the members of an image archive (a seekable tar file)."""

    def __init__(self, path: Path, shown: Path | str | None = None) -> None:
        """``shown``: the name errors give it (``standard input`` for the copy of a stream)."""
        try:
            from geedocker.archive.header import FastTarInfo  # its extended headers have a size cap

            self.tf = tarfile.open(path, mode="r:*", tarinfo=FastTarInfo)
        except (tarfile.TarError, OSError) as e:
            # one line: tarfile's "could not be opened" lists each compression it tried, one per line
            why = "not a tar file" if isinstance(e, tarfile.ReadError) else str(e)
            raise ArchiveError(f"{shown or path}: not an image archive: {why}") from e
        self.members: dict[str, tarfile.TarInfo] = {}
        count = 0
        for m in self.tf:
            count += 1
            if count > 1_000_000:
                raise ArchiveError(f"{path}: too many entries")
            self.members[str(PurePosixPath(m.name.lstrip("/")))] = m
        self.path = path

    def has(self, name: str) -> bool:
        return str(PurePosixPath(name)) in self.members

    def _member(self, name: str) -> tarfile.TarInfo:
        key = str(PurePosixPath(name.lstrip("/")))
        seen = 0
        m = self.members.get(key)
        while m is not None and (m.issym() or m.islnk()) and seen < 16:
            seen += 1
            target = m.linkname if m.islnk() else str(PurePosixPath(key).parent / m.linkname)
            key = os.path.normpath(target).lstrip("/")
            m = self.members.get(key)
        if m is None or not m.isfile():
            raise ArchiveError(f"{self.path}: missing or not a file: {name}")
        return m

    def open(self, name: str) -> BinaryIO:
        f = self.tf.extractfile(self._member(name))
        if f is None:
            raise ArchiveError(f"{self.path}: cannot read {name}")
        return f  # type: ignore[return-value]

    def size(self, name: str) -> int:
        return self._member(name).size

    def read_json(self, name: str) -> Any:
        if self.size(name) > MAX_JSON:
            raise ArchiveError(f"{self.path}: {name} is too large")
        try:
            return json.loads(self.open(name).read())
        except ValueError as e:
            raise ArchiveError(f"{self.path}: {name} is not valid JSON: {e}") from e

    def close(self) -> None:
        self.tf.close()


def _import_blob(blobs: BlobStore, archive: _Archive, name: str, expected: Digest | None) -> Digest:
    """Copy a member into the blob store, verified against ``expected`` (or named by its own digest)."""
    if expected is not None and blobs.has(expected):
        return expected
    src = archive.open(name)
    if expected is not None:
        try:
            blobs.put_stream(src, expected, archive.size(name))
        except VerificationError as e:
            raise VerificationError(f"{archive.path}: {name}: {e}") from e
        return expected
    # unknown digest: named by its own, hashed while it is written
    with blobs.writer() as out:
        shutil.copyfileobj(src, out, CHUNK)
    return out.digest


def _digest_from_path(name: str) -> Digest | None:
    p = PurePosixPath(name)
    if len(p.parts) >= 3 and p.parts[-3] == "blobs":
        with contextlib.suppress(GeeDockerError):
            return Digest.parse(f"{p.parts[-2]}:{p.parts[-1]}")
    return None


def _layer_media_type(head: bytes, docker: bool) -> str:
    if head[:2] == b"\x1f\x8b":
        return MediaType.DOCKER_LAYER.value if docker else MediaType.OCI_LAYER_GZIP.value
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return MediaType.OCI_LAYER_ZSTD.value
    return MediaType.OCI_LAYER.value


class Loader:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.blobs = BlobStore(layout)
        self.images = ImageStore(layout)
        self.layers = LayerStore(layout)

    def _unpack_layers(self, manifest: Manifest, config: ImageConfig) -> None:
        if len(config.diff_ids) != len(manifest.layers):
            raise ManifestError(
                f"manifest has {len(manifest.layers)} layers but the config lists {len(config.diff_ids)} diff_ids"
            )
        for desc, chain, diff_id in zip(manifest.layers, oci.chain_ids(config.diff_ids), config.diff_ids,
                                        strict=True):
            if not self.layers.has(chain):
                self.layers.unpack(chain, diff_id, self.blobs.path(desc.digest))

    def _record(self, mdigest: Digest, manifest: Manifest, names: list[str]) -> Loaded:
        config = ImageConfig.from_bytes(self.blobs.read_bytes(manifest.config.digest, oci.MAX_CONFIG_BYTES))
        self._unpack_layers(manifest, config)
        size = manifest.config.size + sum(d.size for d in manifest.layers)
        rec = self.images.add(mdigest, manifest.config.digest, None, size=size)
        tagged = []
        for n in names:
            with contextlib.suppress(InvalidReference):
                r = refs.parse(n)
                if r.digest is None:
                    rec = self.images.add(mdigest, manifest.config.digest, str(r))
                    tagged.append(r.familiar())
        return Loaded(rec, tuple(tagged))

    def load_oci(self, archive: _Archive) -> list[Loaded]:
        index = Index.from_bytes(archive.open("index.json").read(MAX_JSON))
        out = []
        for desc in index.manifests:
            names = []
            ann = dict(desc.annotations)
            if NAME_ANNOTATION in ann:
                names.append(ann[NAME_ANNOTATION])
            elif REF_ANNOTATION in ann and ":" not in ann[REF_ANNOTATION] and "/" not in ann[REF_ANNOTATION]:
                pass  # a bare tag with no repository: nothing to name the image by
            elif REF_ANNOTATION in ann:
                names.append(ann[REF_ANNOTATION])
            out.append(self._load_manifest_desc(archive, desc, names))
        return out

    def _load_manifest_desc(self, archive: _Archive, desc: Descriptor, names: list[str]) -> Loaded:
        path = f"blobs/{desc.digest.algorithm}/{desc.digest.hex}"
        d = _import_blob(self.blobs, archive, path, desc.digest)
        data = self.blobs.read_bytes(d, oci.MAX_MANIFEST_BYTES)
        mt = oci.detect_media_type(data, desc.media_type)
        if mt in oci.INDEX_TYPES:
            child = Index.from_bytes(data, mt).select(Platform.host())
            return self._load_manifest_desc(archive, child, names)
        manifest = Manifest.from_bytes(data, mt)
        for blob in [manifest.config, *manifest.layers]:
            _import_blob(self.blobs, archive, f"blobs/{blob.digest.algorithm}/{blob.digest.hex}", blob.digest)
        return self._record(d, manifest, names)

    def load_docker(self, archive: _Archive) -> list[Loaded]:
        entries = archive.read_json("manifest.json")
        if not isinstance(entries, list):
            raise ArchiveError(f"{archive.path}: manifest.json is not a list")
        # an OCI layout in the same archive keeps the original manifest digests: prefer it
        oci_by_config: dict[Digest, Descriptor] = {}
        if archive.has("index.json"):
            with contextlib.suppress(GeeDockerError, KeyError):
                for desc in Index.from_bytes(archive.open("index.json").read(MAX_JSON)).manifests:
                    p = f"blobs/{desc.digest.algorithm}/{desc.digest.hex}"
                    if archive.has(p) and archive.size(p) < oci.MAX_MANIFEST_BYTES:
                        m = Manifest.from_bytes(archive.open(p).read())
                        oci_by_config[m.config.digest] = desc
        out = []
        for e in entries:
            if not isinstance(e, dict) or not isinstance(e.get("Config"), str) or not isinstance(e.get("Layers"), list):
                raise ArchiveError(f"{archive.path}: malformed entry in manifest.json")
            names = [str(t) for t in e.get("RepoTags") or []]
            cfg_path = e["Config"]
            cfg_digest = _import_blob(self.blobs, archive, cfg_path, _digest_from_path(cfg_path))
            if cfg_digest in oci_by_config:
                out.append(self._load_manifest_desc(archive, oci_by_config[cfg_digest], names))
                continue
            layer_descs = []
            for lp in e["Layers"]:
                d = _import_blob(self.blobs, archive, str(lp), _digest_from_path(str(lp)))
                with self.blobs.open(d) as f:
                    head = f.read(4)
                layer_descs.append(Descriptor(_layer_media_type(head, False), d, self.blobs.size(d)))
            cfg_size = self.blobs.size(cfg_digest)
            manifest = Manifest(MediaType.OCI_MANIFEST.value,
                                Descriptor(MediaType.OCI_CONFIG.value, cfg_digest, cfg_size), tuple(layer_descs))
            mdigest = self.blobs.put_bytes(oci.canonical_json(manifest.to_json()))
            out.append(self._record(mdigest, manifest, names))
        return out


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
            archive = _Archive(path, shown)
            try:
                loader = Loader(layout)
                if archive.has("manifest.json"):
                    loaded = loader.load_docker(archive)
                elif archive.has("index.json"):
                    loaded = loader.load_oci(archive)
                else:
                    raise ArchiveError(f"{shown}: neither manifest.json nor index.json: not an image archive")
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


