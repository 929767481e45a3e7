"""What a ``POST /build`` request asks for: its query parameters as the build's options (tags, Dockerfile,
build args, labels, network, platform, hosts, shm size, the base images' registry credentials), and its body,
the build context, a tar (plain or compressed: gzip, bzip2, xz, zstd) unpacked by the safe unpacker into a
temp dir on the store's file system. Apart from ``api.build``, which runs the build and streams its progress.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from geedocker.api.errors import ApiError
from geedocker.api.messages import Request
from geedocker.errors import GeeDockerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.build.options import BuildOptions
    from geedocker.registry import RegistryConfig

BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"


# ---------------------------------------------------------------- the request


def build_options(req: Request, context: Path) -> BuildOptions:
    from geedocker import reference as refs
    from geedocker.build.options import BuildOptions
    from geedocker.containers.flags import parse_bytes
    from geedocker.network.options import parse_add_host

    tags = tuple(req.query.get("t", []))
    for t in tags:
        refs.parse(t)  # a bad name is refused before the build (400), as dockerd does
    name = req.arg("dockerfile") or "Dockerfile"
    df_path = _dockerfile(context, name)
    text = df_path.read_text(errors="surrogateescape")
    if not text.strip():
        raise ApiError(400, f"the Dockerfile ({name}) cannot be empty")
    network = req.arg("networkmode") or "default"
    if network == "bridge":
        network = "default"
    if network not in ("default", "host", "none"):
        raise ApiError(400, f"networkmode {network!r} is not supported by geedocker's builder: default, bridge, "
                            "host or none")  # fmt: skip
    platform = req.arg("platform")
    if platform:
        from geedocker.oci import Platform

        try:
            Platform.parse(platform)
        except GeeDockerError as e:
            raise ApiError(400, str(e)) from e  # dockerd: an invalid parameter
    hosts = [h for v in req.query.get("extrahosts", []) for h in v.split(",") if h.strip()]
    shm = req.arg("shmsize")
    return BuildOptions(
        dockerfile=text, context=context, dockerfile_path=df_path, tags=tags,
        build_args=_string_map(req, "buildargs", skip_null=True), target=req.arg("target"),
        labels=_string_map(req, "labels"), no_cache=req.flag("nocache"), pull=req.flag("pull"),
        network=network, platform=platform, add_hosts=tuple(parse_add_host(h) for h in hosts),
        shm_size=parse_bytes(shm, "shmsize") if shm and shm != "0" else None,
        parallel=1,  # the classic builder's output is one step after another
        registry_config=_registry_config(req),
    )  # fmt: skip


def _string_map(req: Request, name: str, skip_null: bool = False) -> tuple[tuple[str, str], ...]:
    """A JSON object of strings in query parameter ``name``; a null value (a build arg named without a value
    that the client's environment does not have) leaves the Dockerfile's default."""
    d = req.json_arg(name) or {}
    if not isinstance(d, dict):
        raise ApiError(400, f"{name}: a JSON object was expected")
    out = []
    for k, v in d.items():
        if v is None and skip_null:
            continue
        if v is not None and not isinstance(v, str):
            raise ApiError(400, f"{name}: the value of {k!r} must be a string")
        out.append((str(k), v or ""))
    return tuple(out)


def _dockerfile(context: Path, name: str) -> Path:
    from geedocker.containers.paths import secure_join

    path = secure_join(context, name.lstrip("/"))
    if not path.is_file() and name == "Dockerfile":
        lower = secure_join(context, "dockerfile")
        if lower.is_file():
            return lower
    if not path.is_file():
        raise ApiError(500, f"Cannot locate specified Dockerfile: {name}")  # dockerd's words and status
    return path


def _registry_config(req: Request) -> RegistryConfig | None:
    """The credentials the client sends for the base images' pulls (``X-Registry-Config``: base64url JSON,
    registry -> {username, password} or {auth}); None without any."""
    from geedocker.registry import Credentials, RegistryConfig, StaticCredentials
    from geedocker.values import replace

    header = req.headers.get("x-registry-config", "")
    if not header:
        return None
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        auths = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError(400, "X-Registry-Config: invalid base64-encoded JSON") from None
    if not isinstance(auths, dict):
        raise ApiError(400, "X-Registry-Config: a JSON object was expected")
    found: dict[str, Credentials] = {}
    for key, a in auths.items():
        if not isinstance(a, dict):
            continue
        user, password = str(a.get("username") or ""), str(a.get("password") or "")
        if not (user and password) and a.get("auth"):
            try:
                user, _, password = base64.b64decode(str(a["auth"])).decode().partition(":")
            except ValueError:
                continue
        if not (user and password):
            continue
        host = str(key).removeprefix("https://").removeprefix("http://").split("/")[0]
        if host in ("", "index.docker.io", "docker.io"):
            host = "registry-1.docker.io"
        found[host] = Credentials(user, password)
    if not found:
        return None
    return replace(RegistryConfig.from_env(), credentials=StaticCredentials(found))


# ---------------------------------------------------------------- the context


class _Replay:
    """``read`` that first gives back the bytes already looked at."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self.head = head
        self.rest = rest

    def read(self, n: int = -1, /) -> bytes:
        if not self.head:
            return bytes(self.rest.read(n))
        if n < 0:
            out, self.head = self.head + bytes(self.rest.read()), b""
            return out
        out, self.head = self.head[:n], self.head[n:]
        return out

    def readable(self) -> bool:
        return True


def unpack_context(req: Request) -> Path:
    """The request body's tar, unpacked into a new temp dir under the store's ``tmp``."""
    import bz2
    import lzma
    import tempfile

    from geedocker.archive.apply import apply_layer
    from geedocker.archive.options import WhiteoutPolicy
    from geedocker.trees import rmtree

    body = req.stream()
    head = body.read(6)
    if not head:
        raise ApiError(400, "the request body is empty: a tar archive of the build context was expected")
    stream: Any = _Replay(head, body)
    if head.startswith(BZIP2_MAGIC):
        stream = bz2.BZ2File(stream)
    elif head.startswith(XZ_MAGIC):
        stream = lzma.LZMAFile(stream)
    req.layout.tmp.mkdir(parents=True, exist_ok=True)
    d = Path(tempfile.mkdtemp(prefix="build-context-", dir=req.layout.tmp))
    try:
        apply_layer(stream, d, WhiteoutPolicy.APPLY)
    except (OSError, EOFError, lzma.LZMAError) as e:
        rmtree(d, ignore_errors=True)
        raise ApiError(400, f"the build context is not a valid tar archive: {e}") from e
    except GeeDockerError as e:
        rmtree(d, ignore_errors=True)
        raise ApiError(400, f"the build context is not a valid tar archive: {e}") from e
    except BaseException:
        rmtree(d, ignore_errors=True)
        raise
    return d
