"""Real test registries (Debian's docker-registry, CNCF Distribution 2.8) as pytest fixtures.

Four kinds, each on 127.0.0.1 with a free port and filesystem storage in a temp dir:

- ``registry_http``  plain HTTP, no auth;
- ``registry_tls``   HTTPS with a CA made here (``reg.ca_path``, ``reg.certs_d`` = ``<dir>/<host:port>/ca.crt``);
- ``registry_basic`` HTTPS + htpasswd basic auth (user ``alice`` / ``alice-pw``);
- ``registry_token`` HTTP with ``auth: token`` the way Docker Hub does it: a token server in a thread checks
  basic credentials (``bob`` / ``bob-pw`` get everything) or grants anonymous pull on ``public/*``, and
  issues RS256 JWTs whose x5c cert chains to the registry's rootcertbundle. ``reg.token_server`` lets a
  test shorten lifetimes (see ``TokenServer``).

Fixtures are session-scoped; their finalizers kill the registry by pid and remove the temp dirs.
To use them from another test package, import the fixture names into that package's conftest.py:
``from tests.support.registry import registry_http  # noqa: F401``.

``push_test_image`` and ``push_index`` put images into a registry with the project's own client.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from geedocker import oci
from geedocker.digest import Digest
from geedocker.registry import RegistryClient, RegistryConfig, StaticCredentials
from geedocker.registry.credentials import Credentials

REGISTRY_BIN = Path("/usr/bin/docker-registry")
READY_TIMEOUT = 20.0
BASIC_USER = ("alice", "alice-pw")
TOKEN_USER = ("bob", "bob-pw")
TOKEN_SERVICE = "geedocker-test-registry"
TOKEN_ISSUER = "geedocker-test-issuer"


# ----------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class CertPair:
    cert_pem: bytes
    key_pem: bytes
    cert_der: bytes


def _name(cn: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _new_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pair(cert: Any, key: Any) -> CertPair:
    from cryptography.hazmat.primitives import serialization

    return CertPair(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption()),
        cert.public_bytes(serialization.Encoding.DER),
    )


def make_ca(cn: str = "geedocker test CA") -> tuple[CertPair, Any]:
    """A self-signed CA: (its PEM/DER, its private key object for signing leaves)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = _new_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(_name(cn))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _pair(cert, key), key


def make_leaf(ca: CertPair, ca_key: Any, cn: str, *, server: bool = True) -> CertPair:
    """A cert signed by ``ca``: for 127.0.0.1/localhost/::1 when ``server``, else a token-signing cert."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = _new_key()
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=server, key_cert_sign=False,
                                     crl_sign=False, content_commitment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
    )
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]), critical=False).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return _pair(b.sign(ca_key, hashes.SHA256()), key)


# ----------------------------------------------------------------------------- token server


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Issues Distribution-compatible JWTs (RS256, x5c) on ``GET /token?service=&scope=``.

    ``expires_in`` is what clients are told; ``jwt_exp_offset`` (seconds from now, default = expires_in)
    is what the JWT really says, so a test can hand out tokens the registry already rejects (the registry
    allows 60 s of leeway, so use something like -300). ``requests`` records (user, scopes) per request.
    """

    def __init__(self, signer: CertPair, users: dict[str, str], public_prefix: str = "public/") -> None:
        self.signer = signer
        self.users = users
        self.public_prefix = public_prefix
        self.expires_in = 300
        self.jwt_exp_offset: int | None = None
        self.requests: list[tuple[str | None, list[str]]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        from cryptography.hazmat.primitives import serialization

        self._key: Any = serialization.load_pem_private_key(signer.key_pem, password=None)

    @property
    def realm(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/token"

    def reset(self) -> None:
        with self._lock:
            self.expires_in = 300
            self.jwt_exp_offset = None
            self.requests.clear()

    def grant(self, user: str | None, scopes: list[str]) -> list[dict[str, Any]]:
        access = []
        for s in scopes:
            typ, _, rest = s.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            if user is None:
                allowed = [a for a in wanted if a == "pull" and name.startswith(self.public_prefix)]
            else:
                allowed = wanted
            if typ == "repository" and allowed:
                access.append({"type": typ, "name": name, "actions": allowed})
        return access

    def make_jwt(self, user: str | None, access: list[dict[str, Any]]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        exp = now + (self.jwt_exp_offset if self.jwt_exp_offset is not None else self.expires_in)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.signer.cert_der).decode()]}
        claims = {"iss": TOKEN_ISSUER, "sub": user or "", "aud": TOKEN_SERVICE, "exp": exp,
                  "nbf": min(now - 10, exp - 1), "iat": min(now, exp - 1), "jti": uuid.uuid4().hex,
                  "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())).encode()
        sig = self._key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return signing_input.decode() + "." + _b64url(sig)

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path != "/token":
                    self.send_error(404)
                    return
                q = parse_qs(parts.query)
                user: str | None = None
                authz = self.headers.get("Authorization", "")
                if authz.startswith("Basic "):
                    try:
                        u, _, p = base64.b64decode(authz[6:]).decode().partition(":")
                    except ValueError:
                        u, p = "", ""
                    if server.users.get(u) != p or not u:
                        body = b'{"details":"incorrect username or password"}'
                        self.send_response(401)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        return
                    user = u
                if q.get("service", [""])[0] != TOKEN_SERVICE:
                    self.send_error(400, "unknown service")
                    return
                scopes = q.get("scope", [])
                with server._lock:
                    server.requests.append((user, list(scopes)))
                    token = server.make_jwt(user, server.grant(user, scopes))
                    expires_in = server.expires_in
                body = json.dumps({"token": token, "access_token": token, "expires_in": expires_in,
                                   "issued_at": dt.datetime.now(dt.UTC).isoformat()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="token-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


# ----------------------------------------------------------------------------- registry process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TestRegistry:
    """A running docker-registry. ``client()`` gives a RegistryClient set up to trust and log in to it."""

    __test__ = False  # not a test class, despite the name

    kind: str
    host: str
    scheme: str
    root: Path
    pid: int
    ca_path: Path | None = None
    certs_d: Path | None = None
    users: dict[str, str] = field(default_factory=dict)
    token_server: TokenServer | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def credentials(self) -> Credentials | None:
        if not self.users:
            return None
        user, pw = next(iter(self.users.items()))
        return Credentials(user, pw)

    def config(self, *, creds: Credentials | None | bool = True, **kw: Any) -> RegistryConfig:
        """A RegistryConfig trusting this registry's CA (if any), with its user's credentials unless creds=False."""
        if creds is True:
            c = self.credentials
        elif creds is False:
            c = None
        else:
            c = creds
        store = StaticCredentials({self.host: c} if c else {})
        kw.setdefault("certs_dirs", (self.certs_d,) if self.certs_d else ())
        kw.setdefault("retry_base_delay", 0.05)
        return RegistryConfig(credentials=store, **kw)

    def client(self, *, creds: Credentials | None | bool = True, **kw: Any) -> RegistryClient:
        return RegistryClient(self.host, config=self.config(creds=creds, **kw))

    def log_text(self) -> str:
        p = self.root / "registry.log"
        return p.read_text(errors="replace")[-4000:] if p.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.token_server is not None:
            self.token_server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _wait_ready(reg: TestRegistry, ctx: ssl.SSLContext | None) -> None:
    import http.client

    deadline = time.monotonic() + READY_TIMEOUT
    host, port = reg.host.rsplit(":", 1)
    last: Exception | None = None
    while time.monotonic() < deadline:
        if reg.proc is not None and reg.proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {reg.proc.returncode}:\n{reg.log_text()}")
        conn: http.client.HTTPConnection
        if ctx is not None:
            conn = http.client.HTTPSConnection(host, int(port), timeout=2, context=ctx)
        else:
            conn = http.client.HTTPConnection(host, int(port), timeout=2)
        try:
            conn.request("GET", "/v2/")
            status = conn.getresponse().status
            if status in (200, 401):
                return
        except OSError as e:
            last = e
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"docker-registry on {reg.host} not ready after {READY_TIMEOUT}s ({last}):\n{reg.log_text()}")


@dataclass(frozen=True)
class TLSMaterial:
    ca: CertPair
    server: CertPair
    client: CertPair
    token_ca: CertPair
    token_signer: CertPair


def make_tls_material() -> TLSMaterial:
    ca, ca_key = make_ca()
    server = make_leaf(ca, ca_key, "127.0.0.1")
    client = make_leaf(ca, ca_key, "geedocker test client", server=False)
    token_ca, token_ca_key = make_ca("geedocker test token CA")
    signer = make_leaf(token_ca, token_ca_key, "geedocker test token signer", server=False)
    return TLSMaterial(ca, server, client, token_ca, signer)


def start_registry(kind: str, tls: TLSMaterial) -> TestRegistry:
    """Start one registry of ``kind`` ("http", "tls", "basic", "token", "mtls"); the caller must stop() it."""
    if not REGISTRY_BIN.exists():
        pytest.skip(f"{REGISTRY_BIN} is not installed (Debian package docker-registry)")
    root = Path(tempfile.mkdtemp(prefix=f"geedocker-registry-{kind}-"))
    port = free_port()
    host = f"127.0.0.1:{port}"
    use_tls = kind in ("tls", "basic", "mtls")
    reg = TestRegistry(kind, host, "https" if use_tls else "http", root, pid=0)
    try:
        cfg: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}, "formatter": "text"},
            "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True},
                        "maintenance": {"uploadpurging": {"enabled": False}}},
            "http": {"addr": host, "secret": uuid.uuid4().hex, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        }
        if use_tls:
            (root / "server.crt").write_bytes(tls.server.cert_pem)
            (root / "server.key").write_bytes(tls.server.key_pem)
            cfg["http"]["tls"] = {"certificate": str(root / "server.crt"), "key": str(root / "server.key")}
            reg.ca_path = root / "ca.crt"
            reg.ca_path.write_bytes(tls.ca.cert_pem)
            reg.certs_d = root / "certs.d"
            (reg.certs_d / host).mkdir(parents=True)
            (reg.certs_d / host / "ca.crt").write_bytes(tls.ca.cert_pem)
        if kind == "mtls":
            # Clients must present a certificate signed by the CA: certs.d/<host>/client.cert + client.key.
            cfg["http"]["tls"]["clientcas"] = [str(reg.ca_path)]
            assert reg.certs_d is not None
            (reg.certs_d / host / "client.cert").write_bytes(tls.client.cert_pem)
            (reg.certs_d / host / "client.key").write_bytes(tls.client.key_pem)
        if kind == "basic":
            user, pw = BASIC_USER
            out = subprocess.run(["htpasswd", "-Bbn", user, pw], capture_output=True, check=True, timeout=30)
            (root / "htpasswd").write_bytes(out.stdout)
            cfg["auth"] = {"htpasswd": {"realm": "geedocker-test", "path": str(root / "htpasswd")}}
            reg.users = {user: pw}
        if kind == "token":
            user, pw = TOKEN_USER
            reg.users = {user: pw}
            reg.token_server = TokenServer(tls.token_signer, reg.users)
            reg.token_server.start()
            (root / "token-root.pem").write_bytes(tls.token_ca.cert_pem)
            cfg["auth"] = {"token": {"realm": reg.token_server.realm, "service": TOKEN_SERVICE,
                                     "issuer": TOKEN_ISSUER, "rootcertbundle": str(root / "token-root.pem")}}
        config_path = root / "config.yml"
        config_path.write_text(json.dumps(cfg, indent=2))  # JSON is YAML
        log = open(root / "registry.log", "wb")
        try:
            reg.proc = subprocess.Popen(
                [str(REGISTRY_BIN), "serve", str(config_path)], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)},
            )
        finally:
            log.close()
        reg.pid = reg.proc.pid
        ctx = None
        if use_tls:
            ctx = ssl.create_default_context(cafile=str(reg.ca_path))
            if kind == "mtls":
                ctx.load_cert_chain(str(reg.certs_d / host / "client.cert"),  # type: ignore[operator]
                                    str(reg.certs_d / host / "client.key"))  # type: ignore[operator]
        _wait_ready(reg, ctx)
    except BaseException:
        reg.stop()
        raise
    return reg


@pytest.fixture(scope="session")
def registry_tls_material() -> TLSMaterial:
    return make_tls_material()


def _fixture(kind: str, tls: TLSMaterial) -> Iterator[TestRegistry]:
    reg = start_registry(kind, tls)
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def registry_http(registry_tls_material: TLSMaterial) -> Iterator[TestRegistry]:
    yield from _fixture("http", registry_tls_material)


@pytest.fixture(scope="session")
def registry_tls(registry_tls_material: TLSMaterial) -> Iterator[TestRegistry]:
    yield from _fixture("tls", registry_tls_material)


@pytest.fixture(scope="session")
def registry_basic(registry_tls_material: TLSMaterial) -> Iterator[TestRegistry]:
    yield from _fixture("basic", registry_tls_material)


@pytest.fixture(scope="session")
def registry_token(registry_tls_material: TLSMaterial) -> Iterator[TestRegistry]:
    yield from _fixture("token", registry_tls_material)


# ----------------------------------------------------------------------------- pushing test images


@dataclass(frozen=True)
class PushedImage:
    digest: Digest
    manifest: bytes
    media_type: str
    config: bytes
    config_digest: Digest
    layers: tuple[oci.Descriptor, ...]
    diff_ids: tuple[Digest, ...]


@dataclass(frozen=True)
class PushedIndex:
    digest: Digest
    index: bytes
    media_type: str
    images: dict[str, PushedImage]  # by platform string, e.g. "linux/amd64"


def _layer_descriptor(blob: bytes, docker: bool) -> tuple[bytes, str, Digest]:
    """(blob as pushed, media type, diff ID). Plain tars become gzip for Docker schema 2."""
    mt = oci.MediaType
    if blob[:2] == b"\x1f\x8b":
        plain = gzip.decompress(blob)
        return blob, (mt.DOCKER_LAYER if docker else mt.OCI_LAYER_GZIP).value, Digest.of(plain)
    if blob[:4] == b"\x28\xb5\x2f\xfd":
        if docker:
            raise ValueError("Docker schema 2 has no zstd layers: use OCI media types")
        import zstandard

        plain = zstandard.ZstdDecompressor().stream_reader(blob).read()
        return blob, mt.OCI_LAYER_ZSTD.value, Digest.of(plain)
    if docker:
        return gzip.compress(blob, mtime=0), mt.DOCKER_LAYER.value, Digest.of(blob)
    return blob, mt.OCI_LAYER.value, Digest.of(blob)


def _upload(client: RegistryClient, repo: str, data: bytes) -> Digest:
    import io

    d = Digest.of(data)
    client.upload_blob(repo, d, len(data), io.BytesIO(data))
    return d


def build_and_push(
    client: RegistryClient,
    repo: str,
    ref: str | None,
    layers: list[bytes],
    *,
    media_types: str = "oci",
    config_overrides: dict[str, Any] | None = None,
    platform: str = "linux/amd64",
) -> PushedImage:
    docker = media_types == "docker"
    if media_types not in ("oci", "docker"):
        raise ValueError(f"media_types must be 'oci' or 'docker', not {media_types!r}")
    plat = oci.Platform.parse(platform)
    descs: list[oci.Descriptor] = []
    diff_ids: list[Digest] = []
    for blob in layers:
        pushed, mt, diff_id = _layer_descriptor(blob, docker)
        descs.append(oci.Descriptor(mt, _upload(client, repo, pushed), len(pushed)))
        diff_ids.append(diff_id)
    cfg: dict[str, Any] = {
        "architecture": plat.architecture, "os": plat.os,
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [str(d) for d in diff_ids]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "geedocker tests"} for _ in layers],
    }
    if plat.variant:
        cfg["variant"] = plat.variant
    for k, v in (config_overrides or {}).items():
        if k == "config" and isinstance(v, dict):
            cfg["config"] = {**cfg["config"], **v}
        else:
            cfg[k] = v
    config_bytes = oci.canonical_json(cfg)
    config_mt = oci.MediaType.DOCKER_CONFIG if docker else oci.MediaType.OCI_CONFIG
    config_digest = _upload(client, repo, config_bytes)
    manifest_mt = (oci.MediaType.DOCKER_MANIFEST if docker else oci.MediaType.OCI_MANIFEST).value
    manifest = oci.Manifest(manifest_mt, oci.Descriptor(config_mt.value, config_digest, len(config_bytes)),
                            tuple(descs))
    data = oci.canonical_json(manifest.to_json())
    digest = Digest.of(data)
    pushed = client.put_manifest(repo, ref or str(digest), data, manifest_mt)
    assert pushed == digest
    return PushedImage(digest, data, manifest_mt, config_bytes, config_digest, tuple(descs), tuple(diff_ids))


def push_test_image(
    registry: TestRegistry | RegistryClient,
    repo: str,
    tag: str,
    layers: list[bytes],
    *,
    media_types: str = "oci",
    config_overrides: dict[str, Any] | None = None,
    platform: str = "linux/amd64",
) -> PushedImage:
    """Push an image made of ``layers`` (plain, gzip or zstd tars) and a generated config as repo:tag.

    ``media_types`` "oci" or "docker" (Docker schema 2; plain tars are gzipped). ``config_overrides`` are
    merged into the config (its ``config`` key merged one level deeper). Returns what was pushed.
    """
    client = registry.client() if isinstance(registry, TestRegistry) else registry
    try:
        return build_and_push(client, repo, tag, layers, media_types=media_types,
                              config_overrides=config_overrides, platform=platform)
    finally:
        if isinstance(registry, TestRegistry):
            client.close()


def push_index(
    registry: TestRegistry | RegistryClient,
    repo: str,
    tag: str,
    per_platform: dict[str, list[bytes]] | None = None,
    *,
    media_types: str = "oci",
    config_overrides: dict[str, Any] | None = None,
) -> PushedIndex:
    """Push one image per platform (default linux/amd64 and linux/arm64/v8, each with a small layer naming
    its platform) by digest, then an index (OCI) or manifest list (docker) over them as repo:tag."""
    from tests.support.layers import file, layer_tar

    if per_platform is None:
        per_platform = {
            p: [layer_tar([file("etc/platform", p + "\n")])] for p in ("linux/amd64", "linux/arm64/v8")
        }
    client = registry.client() if isinstance(registry, TestRegistry) else registry
    try:
        images = {p: build_and_push(client, repo, None, layers, media_types=media_types,
                                    config_overrides=config_overrides, platform=p)
                  for p, layers in per_platform.items()}
        index_mt = (oci.MediaType.DOCKER_MANIFEST_LIST if media_types == "docker" else oci.MediaType.OCI_INDEX).value
        entries = [oci.Descriptor(img.media_type, img.digest, len(img.manifest), oci.Platform.parse(p)).to_json()
                   for p, img in images.items()]
        data = oci.canonical_json({"schemaVersion": 2, "mediaType": index_mt, "manifests": entries})
        digest = client.put_manifest(repo, tag, data, index_mt)
        return PushedIndex(digest, data, index_mt, images)
    finally:
        if isinstance(registry, TestRegistry):
            client.close()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
