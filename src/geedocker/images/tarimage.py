"""The images of an image archive (``docker save``, ``podman save``, ``skopeo copy ... docker-archive:/oci-archive:``)
as ``Image``s (go-containerregistry's ``tarball.Image``): what ``load`` writes into the store through
``images.writer``, as pull writes a registry's.

An archive is a docker one (``manifest.json``: old style ``<id>/layer.tar`` and ``<hex>.json``, or new style
``blobs/sha256/``), an OCI layout (``index.json``), or both (docker 25+: the OCI manifests are preferred, they
keep the original digests). Nothing is read before it is needed; every manifest, index and config is checked
against its digest as it is read, and every layer when the writer copies it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from geedocker import oci
from geedocker.digest import Digest
from geedocker.errors import ArchiveError, GeeDockerError, ManifestError, VerificationError
from geedocker.images.image import BlobReader, Image
from geedocker.oci import Descriptor, Index, Manifest, MediaType, Platform
from geedocker.store.blobs import CHUNK

MAX_JSON = 16 << 20
NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


class TarArchive:
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


def blob_path(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


def _digest_from_path(name: str) -> Digest | None:
    p = PurePosixPath(name)
    if len(p.parts) >= 3 and p.parts[-3] == "blobs":
        with contextlib.suppress(GeeDockerError):
            return Digest.parse(f"{p.parts[-2]}:{p.parts[-1]}")
    return None


def _layer_media_type(head: bytes) -> str:
    if head[:2] == b"\x1f\x8b":
        return MediaType.OCI_LAYER_GZIP.value
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return MediaType.OCI_LAYER_ZSTD.value
    return MediaType.OCI_LAYER.value


class _ArchiveImage(Image):
    """What both kinds share: blobs are members of the archive, found by digest in ``paths``."""

    def __init__(self, archive: TarArchive) -> None:
        self.archive = archive
        self.paths: dict[Digest, str] = {}

    def _path(self, digest: Digest) -> str:
        return self.paths.get(digest, blob_path(digest))

    def _read(self, name: str, limit: int, digest: Digest | None) -> bytes:
        """A small member's bytes (a manifest, an index, a config), checked against ``digest`` when known."""
        if self.archive.size(name) > limit:
            raise ArchiveError(f"{self.archive.path}: {name} is too large")
        data = self.archive.open(name).read()
        if digest is not None:
            got = Digest.of(data, digest.algorithm)
            if got != digest:
                raise VerificationError(f"{self.archive.path}: {name}: blob digest mismatch: expected {digest}, "
                                        f"got {got}")  # fmt: skip
        return data

    def open_blob(self, desc: Descriptor, offset: int = 0) -> BlobReader:
        f = self.archive.open(self._path(desc.digest))
        if offset:
            f.seek(offset)
        return f

    def raw_config(self) -> bytes:
        desc = self.manifest().config
        return self._read(self._path(desc.digest), oci.MAX_CONFIG_BYTES, desc.digest)

    def describe(self, desc: Descriptor) -> str:
        return f"{self.archive.path}: {self._path(desc.digest)}"


class OCIArchiveImage(_ArchiveImage):
    """The image an OCI layout's descriptor names: a manifest, or an index resolved for this host."""

    def __init__(self, archive: TarArchive, desc: Descriptor) -> None:
        super().__init__(archive)
        self.desc = desc
        self._resolved: tuple[Digest, bytes, Manifest, list[tuple[Digest, bytes]]] | None = None

    def _resolve(self) -> tuple[Digest, bytes, Manifest, list[tuple[Digest, bytes]]]:
        if self._resolved is None:
            desc, indexes = self.desc, []
            while True:
                data = self._read(blob_path(desc.digest), oci.MAX_MANIFEST_BYTES, desc.digest)
                mt = oci.detect_media_type(data, desc.media_type)
                if mt not in oci.INDEX_TYPES:
                    break
                indexes.append((desc.digest, data))
                desc = Index.from_bytes(data, mt).select(Platform.host())
            self._resolved = (desc.digest, data, Manifest.from_bytes(data, mt), indexes)
        return self._resolved

    def manifest_digest(self) -> Digest:
        return self._resolve()[0]

    def raw_manifest(self) -> bytes:
        return self._resolve()[1]

    def manifest(self) -> Manifest:
        return self._resolve()[2]

    def index_blobs(self) -> list[tuple[Digest, bytes]]:
        return self._resolve()[3]


class DockerArchiveImage(_ArchiveImage):
    """The image of one ``manifest.json`` entry that has no OCI manifest in the archive: an OCI manifest is made
    for it, of its config and its layers (named by the digest in their path, or by that of their bytes)."""

    def __init__(self, archive: TarArchive, config: Descriptor, config_path: str, layer_paths: list[str]) -> None:
        super().__init__(archive)
        self.paths[config.digest] = config_path
        self.config_desc = config
        self.layer_paths = layer_paths
        self._manifest: tuple[bytes, Manifest] | None = None

    def _layer(self, name: str) -> Descriptor:
        digest = _digest_from_path(name)
        if digest is None:  # old style (<id>/layer.tar): named by its own digest
            import hashlib

            hasher = hashlib.sha256()
            with self.archive.open(name) as f:
                while chunk := f.read(CHUNK):
                    hasher.update(chunk)
            digest = Digest("sha256", hasher.hexdigest())
        self.paths.setdefault(digest, name)
        with self.archive.open(name) as f:
            head = f.read(4)
        return Descriptor(_layer_media_type(head), digest, self.archive.size(name))

    def _made(self) -> tuple[bytes, Manifest]:
        if self._manifest is None:
            layers = tuple(self._layer(p) for p in self.layer_paths)
            m = Manifest(MediaType.OCI_MANIFEST.value, self.config_desc, layers)
            self._manifest = (oci.canonical_json(m.to_json()), m)
        return self._manifest

    def manifest_digest(self) -> Digest:
        return Digest.of(self._made()[0])

    def raw_manifest(self) -> bytes:
        return self._made()[0]

    def manifest(self) -> Manifest:
        return self._made()[1]


def _oci_names(desc: Descriptor) -> list[str]:
    ann = dict(desc.annotations)
    if NAME_ANNOTATION in ann:
        return [ann[NAME_ANNOTATION]]
    if REF_ANNOTATION in ann and ":" not in ann[REF_ANNOTATION] and "/" not in ann[REF_ANNOTATION]:
        return []  # a bare tag with no repository: nothing to name the image by
    if REF_ANNOTATION in ann:
        return [ann[REF_ANNOTATION]]
    return []


def oci_images(archive: TarArchive) -> Iterator[tuple[Image, list[str]]]:
    """The images of an OCI layout archive (``index.json``), each with the names its annotations give it."""
    index = Index.from_bytes(archive.open("index.json").read(MAX_JSON))
    for desc in index.manifests:
        yield OCIArchiveImage(archive, desc), _oci_names(desc)


def docker_images(archive: TarArchive) -> Iterator[tuple[Image, list[str]]]:
    """The images of a docker archive (``manifest.json``), each with its ``RepoTags``, one entry at a time."""
    entries = archive.read_json("manifest.json")
    if not isinstance(entries, list):
        raise ArchiveError(f"{archive.path}: manifest.json is not a list")
    # an OCI layout in the same archive keeps the original manifest digests: prefer it
    oci_by_config: dict[Digest, Descriptor] = {}
    if archive.has("index.json"):
        with contextlib.suppress(GeeDockerError, KeyError):
            for desc in Index.from_bytes(archive.open("index.json").read(MAX_JSON)).manifests:
                p = blob_path(desc.digest)
                if archive.has(p) and archive.size(p) < oci.MAX_MANIFEST_BYTES:
                    m = Manifest.from_bytes(archive.open(p).read())
                    oci_by_config[m.config.digest] = desc
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("Config"), str) or not isinstance(e.get("Layers"), list):
            raise ArchiveError(f"{archive.path}: malformed entry in manifest.json")
        names = [str(t) for t in e.get("RepoTags") or []]
        config = _config(archive, e["Config"])
        if config.digest in oci_by_config:
            yield OCIArchiveImage(archive, oci_by_config[config.digest]), names
        else:
            yield DockerArchiveImage(archive, config, e["Config"], [str(lp) for lp in e["Layers"]]), names


def _config(archive: TarArchive, name: str) -> Descriptor:
    """The descriptor of an entry's config: its digest is the one in its path (checked when it is read), or that
    of its bytes (``<hex>.json``, old style)."""
    size = archive.size(name)
    digest = _digest_from_path(name)
    if digest is None:
        if size > oci.MAX_CONFIG_BYTES:
            raise ManifestError(f"{archive.path}: {name}: image config is too large ({size} bytes)")
        digest = Digest.of(archive.open(name).read())
    return Descriptor(MediaType.OCI_CONFIG.value, digest, size)
