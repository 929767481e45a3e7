"""OCI image-spec and Docker schema 2 values: media types, descriptors, manifests, configs.

JSON becomes these frozen value classes (``geedocker.values``) at the edge (``*.from_json``); raw dicts
never travel inward.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum

from geedocker.digest import Digest
from geedocker.errors import DigestError, ManifestError
from geedocker.values import field, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any


class MediaType(StrEnum):
    OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
    OCI_INDEX = "application/vnd.oci.image.index.v1+json"
    OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
    OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
    OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
    OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
    OCI_LAYER_ND = "application/vnd.oci.image.layer.nondistributable.v1.tar"
    OCI_LAYER_ND_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    OCI_LAYER_ND_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
    DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
    DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
    DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
    DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
    DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"


MANIFEST_TYPES = frozenset({MediaType.OCI_MANIFEST.value, MediaType.DOCKER_MANIFEST.value})
INDEX_TYPES = frozenset({MediaType.OCI_INDEX.value, MediaType.DOCKER_MANIFEST_LIST.value})
SCHEMA1_TYPES = frozenset({MediaType.DOCKER_SCHEMA1.value, MediaType.DOCKER_SCHEMA1_SIGNED.value})
ACCEPT_MANIFESTS = ", ".join(
    [
        MediaType.OCI_INDEX.value,
        MediaType.DOCKER_MANIFEST_LIST.value,
        MediaType.OCI_MANIFEST.value,
        MediaType.DOCKER_MANIFEST.value,
    ]
)
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 8 * 1024 * 1024

_GOARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def _obj(v: Any, what: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ManifestError(f"{what}: expected a JSON object")
    return v


def _str_list(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ManifestError(f"expected a list of strings, got {v!r}")
    return tuple(v)


def load_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        return _obj(json.loads(data), what)
    except (ValueError, UnicodeDecodeError) as e:
        raise ManifestError(f"{what}: invalid JSON: {e}") from e


@value(order=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ManifestError(f"invalid platform {text!r}: expected os/arch[/variant]")
        arch = _GOARCH.get(parts[1], parts[1])
        return cls(parts[0], arch, parts[2] if len(parts) == 3 else "")

    @classmethod
    def host(cls) -> Platform:
        machine = os.uname().machine
        arch = _GOARCH.get(machine, machine)
        variant = "v8" if arch == "arm64" else ("v7" if machine == "armv7l" else "")
        return cls("linux", arch, variant)

    def matches(self, other: Platform) -> bool:
        """True if an index entry ``other`` can serve a host wanting ``self``."""
        if self.os != other.os or self.architecture != other.architecture:
            return False
        if not self.variant or not other.variant:
            return True
        return self.variant == other.variant

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")


@value
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    annotations: tuple[tuple[str, str], ...] = ()
    urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, raw: Any) -> Descriptor:
        d = _obj(raw, "descriptor")
        try:
            digest = Digest.parse(str(d.get("digest", "")))
        except DigestError as e:
            raise ManifestError(f"descriptor: {e}") from e
        size = d.get("size")
        if not isinstance(size, int) or size < 0:
            raise ManifestError(f"descriptor {digest}: invalid size {size!r}")
        plat = None
        if isinstance(d.get("platform"), dict):
            p = d["platform"]
            plat = Platform(str(p.get("os", "")), str(p.get("architecture", "")), str(p.get("variant", "")))
        ann = d.get("annotations") or {}
        return cls(
            media_type=str(d.get("mediaType", "")),
            digest=digest,
            size=size,
            platform=plat,
            annotations=tuple(sorted((str(k), str(v)) for k, v in _obj(ann, "annotations").items())),
            urls=_str_list(d.get("urls")),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.platform is not None:
            p: dict[str, str] = {"architecture": self.platform.architecture, "os": self.platform.os}
            if self.platform.variant:
                p["variant"] = self.platform.variant
            out["platform"] = p
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.urls:
            out["urls"] = list(self.urls)
        return out


@value
class Manifest:
    """An image manifest (OCI or Docker schema 2): a config and its layers."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> Manifest:
        d = load_json(data, "manifest")
        mt = str(d.get("mediaType") or media_type or MediaType.OCI_MANIFEST.value)
        if d.get("schemaVersion") == 1 or mt in SCHEMA1_TYPES:
            raise ManifestError("manifest schema 1 is deprecated and not supported; push the image again")
        if mt not in MANIFEST_TYPES:
            raise ManifestError(f"unsupported manifest media type {mt!r}")
        if "config" not in d or not isinstance(d.get("layers"), list):
            raise ManifestError("manifest lacks config or layers")
        return cls(
            media_type=mt,
            config=Descriptor.from_json(d["config"]),
            layers=tuple(Descriptor.from_json(x) for x in d["layers"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "config": self.config.to_json(),
            "layers": [layer.to_json() for layer in self.layers],
        }


@value
class Index:
    """An OCI image index or Docker manifest list."""

    media_type: str
    manifests: tuple[Descriptor, ...]

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> Index:
        d = load_json(data, "index")
        mt = str(d.get("mediaType") or media_type or MediaType.OCI_INDEX.value)
        if not isinstance(d.get("manifests"), list):
            raise ManifestError("index lacks a manifests list")
        return cls(mt, tuple(Descriptor.from_json(x) for x in d["manifests"]))

    def select(self, want: Platform) -> Descriptor:
        """The best entry for ``want``; an exact variant beats a variant-less entry."""
        candidates = [m for m in self.manifests if m.platform is not None and want.matches(m.platform)]
        if not candidates:
            offered = ", ".join(sorted({str(m.platform) for m in self.manifests if m.platform})) or "none"
            from geedocker.errors import PlatformError

            raise PlatformError(f"no image for platform {want} in the index; it offers: {offered}")
        exact = [m for m in candidates if m.platform is not None and m.platform.variant == want.variant]
        return (exact or candidates)[0]


def detect_media_type(data: bytes, header: str | None) -> str:
    """Trust the manifest's own mediaType field first, then the Content-Type header, then its shape."""
    try:
        d = json.loads(data)
    except ValueError as e:
        raise ManifestError("manifest is not valid JSON") from e
    if not isinstance(d, dict):
        raise ManifestError("manifest is not a JSON object")
    mt = d.get("mediaType")
    if isinstance(mt, str) and mt:
        return mt
    if d.get("schemaVersion") == 1:
        return MediaType.DOCKER_SCHEMA1.value
    if header and header.split(";")[0].strip() in MANIFEST_TYPES | INDEX_TYPES | SCHEMA1_TYPES:
        return header.split(";")[0].strip()
    if "manifests" in d:
        return MediaType.OCI_INDEX.value
    return MediaType.OCI_MANIFEST.value


@value
class ContainerConfig:
    """The ``config`` part of an image config: how to run the image."""

    user: str = ""
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    working_dir: str = ""
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    stop_signal: str = ""
    # the other keys (Healthcheck, OnBuild, Shell, ArgsEscaped, ...) as (key, canonical JSON), kept as they were
    extra: tuple[tuple[str, str], ...] = ()

    _MODELED = frozenset({"User", "Env", "Entrypoint", "Cmd", "WorkingDir", "ExposedPorts", "Volumes", "Labels",
                          "StopSignal"})

    def get(self, key: str) -> Any:
        """The value of an ``extra`` key (None when absent)."""
        for k, v in self.extra:
            if k == key:
                return json.loads(v)
        return None

    def with_key(self, key: str, val: Any) -> ContainerConfig:
        """A copy with ``extra`` key set (removed when ``val`` is None)."""
        from geedocker.values import replace

        rest = tuple((k, v) for k, v in self.extra if k != key)
        if val is not None:
            rest = tuple(sorted((*rest, (key, json.dumps(val, sort_keys=True)))))
        return replace(self, extra=rest)

    @classmethod
    def from_json(cls, raw: Any) -> ContainerConfig:
        if raw is None:
            return cls()
        d = _obj(raw, "image config.config")
        ep = d.get("Entrypoint")
        cmd = d.get("Cmd")
        return cls(
            user=str(d.get("User") or ""),
            env=_str_list(d.get("Env")),
            entrypoint=_str_list(ep) if ep is not None else None,
            cmd=_str_list(cmd) if cmd is not None else None,
            working_dir=str(d.get("WorkingDir") or ""),
            exposed_ports=tuple(sorted(_obj(d.get("ExposedPorts") or {}, "ExposedPorts"))),
            volumes=tuple(sorted(_obj(d.get("Volumes") or {}, "Volumes"))),
            labels=tuple(sorted((str(k), str(v)) for k, v in _obj(d.get("Labels") or {}, "Labels").items())),
            stop_signal=str(d.get("StopSignal") or ""),
            extra=tuple(sorted((str(k), json.dumps(v, sort_keys=True)) for k, v in d.items()
                               if k not in cls._MODELED and v is not None)),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.user:
            out["User"] = self.user
        if self.env:
            out["Env"] = list(self.env)
        if self.entrypoint is not None:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.exposed_ports:
            out["ExposedPorts"] = {p: {} for p in self.exposed_ports}
        if self.volumes:
            out["Volumes"] = {v: {} for v in self.volumes}
        if self.labels:
            out["Labels"] = dict(self.labels)
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        for k, v in self.extra:
            out[k] = json.loads(v)
        return out


@value
class ImageConfig:
    """An image configuration blob (OCI or Docker): platform, run config, rootfs diff IDs."""

    architecture: str
    os: str
    config: ContainerConfig
    diff_ids: tuple[Digest, ...]
    created: str = ""
    variant: str = ""
    history: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @classmethod
    def from_bytes(cls, data: bytes) -> ImageConfig:
        d = load_json(data, "image config")
        rootfs = _obj(d.get("rootfs") or {}, "rootfs")
        try:
            diff_ids = tuple(Digest.parse(str(x)) for x in rootfs.get("diff_ids") or [])
        except DigestError as e:
            raise ManifestError(f"image config: {e}") from e
        hist = d.get("history") or []
        return cls(
            architecture=str(d.get("architecture", "")),
            os=str(d.get("os", "")),
            config=ContainerConfig.from_json(d.get("config")),
            diff_ids=diff_ids,
            created=str(d.get("created") or ""),
            variant=str(d.get("variant") or ""),
            history=tuple(h for h in hist if isinstance(h, dict)),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "architecture": self.architecture,
            "os": self.os,
            "config": self.config.to_json(),
            "rootfs": {"type": "layers", "diff_ids": [str(d) for d in self.diff_ids]},
        }
        if self.created:
            out["created"] = self.created
        if self.variant:
            out["variant"] = self.variant
        if self.history:
            out["history"] = list(self.history)
        return out


def chain_ids(diff_ids: tuple[Digest, ...] | list[Digest]) -> list[Digest]:
    """OCI ChainIDs: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    out: list[Digest] = []
    for d in diff_ids:
        if not out:
            out.append(d)
        else:
            out.append(Digest.of(f"{out[-1]} {d}".encode()))
    return out


def canonical_json(obj: Any) -> bytes:
    """Compact, key-sorted JSON: the bytes we write for manifests and configs we make."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
