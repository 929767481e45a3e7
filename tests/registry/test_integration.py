"""The client against real docker-registry processes (and the fault proxy). Runs without root."""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import pytest

from geedocker import oci
from geedocker.digest import Digest, DigestingReader
from geedocker.errors import AuthenticationError, NotFoundError, TransportError, VerificationError
from geedocker.registry import RegistryClient, RegistryConfig, ResumingBlobReader
from geedocker.registry.credentials import Credentials, DockerConfigStore
from geedocker.registry.login import login
from geedocker.registry.transport import ConnectionFailure, TLSFailure, Urllib3Transport
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.layers import file, gzip_bytes, layer_tar
from tests.support.registry import TestRegistry, push_index, push_test_image

pytestmark = pytest.mark.registry

KINDS = ["registry_http", "registry_tls", "registry_basic", "registry_token"]


def _big_layer(n: int = 600_000) -> bytes:
    """A plain tar with incompressible content, big enough to break in the middle."""
    blob = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n // 32))
    return layer_tar([file("data.bin", blob)])


def _repo(reg: TestRegistry, name: str) -> str:
    return f"public/{name}" if reg.kind == "token" else name


@pytest.mark.parametrize("kind", KINDS)
def test_push_pull_roundtrip(kind: str, request: pytest.FixtureRequest) -> None:
    reg: TestRegistry = request.getfixturevalue(kind)
    repo = _repo(reg, "roundtrip")
    layer = gzip_bytes(layer_tar([file("hello.txt", f"hello from {kind}\n")]))
    pushed = push_test_image(reg, repo, "v1", [layer], config_overrides={"config": {"Cmd": ["echo", kind]}})
    with reg.client() as c:
        c.ping()
        assert c.scheme == reg.scheme
        head = c.head_manifest(repo, "v1")
        assert head is not None and head.digest == pushed.digest and head.size == len(pushed.manifest)
        assert head.media_type == oci.MediaType.OCI_MANIFEST.value
        m = c.get_manifest(repo, "v1")
        assert m.data == pushed.manifest and m.digest == pushed.digest
        assert c.get_manifest(repo, str(pushed.digest)).data == pushed.manifest
        man = oci.Manifest.from_bytes(m.data)
        cfg = oci.ImageConfig.from_bytes(c.get_blob_bytes(repo, man.config.digest, oci.MAX_CONFIG_BYTES))
        assert cfg.config.cmd == ("echo", kind)
        assert cfg.diff_ids == pushed.diff_ids
        d = man.layers[0].digest
        assert c.blob_exists(repo, d) == len(layer)
        with c.open_blob(repo, d) as s:
            assert s.read() == layer
        with c.open_blob(repo, d, offset=10) as s:
            assert s.resumed and s.read() == layer[10:]
        assert "v1" in c.list_tags(repo)
        assert c.head_manifest(repo, "nope") is None
        with pytest.raises(NotFoundError, match=f"{repo}:nope"):
            c.get_manifest(repo, "nope")


@pytest.mark.parametrize("kind", ["registry_http", "registry_token"])
def test_index_docker_media_types_and_mount(kind: str, request: pytest.FixtureRequest) -> None:
    reg: TestRegistry = request.getfixturevalue(kind)
    repo = _repo(reg, "multi")
    idx = push_index(reg, repo, "latest", media_types="docker")
    with reg.client() as c:
        got = c.get_manifest(repo, "latest")
        assert got.digest == idx.digest and got.media_type == oci.MediaType.DOCKER_MANIFEST_LIST.value
        index = oci.Index.from_bytes(got.data)
        arm = index.select(oci.Platform.parse("linux/arm64/v8"))
        assert arm.digest == idx.images["linux/arm64/v8"].digest
        assert c.get_manifest(repo, str(arm.digest)).media_type == oci.MediaType.DOCKER_MANIFEST.value
        # cross-repository mount of a layer into another repository (one token covers both scopes)
        layer = idx.images["linux/amd64"].layers[0]
        other = _repo(reg, "mounted")
        c.upload_blob(other, layer.digest, layer.size, io.BytesIO(b""), mount_from=repo)
        assert c.blob_exists(other, layer.digest) == layer.size


def test_basic_auth_failures(registry_basic: TestRegistry) -> None:
    with registry_basic.client(creds=Credentials("alice", "wrong")) as c:
        with pytest.raises(AuthenticationError, match=rf"{registry_basic.host}.*user 'alice' were refused"):
            c.ping()
    with registry_basic.client(creds=False) as c:
        with pytest.raises(AuthenticationError, match=f"geedocker login {registry_basic.host}"):
            c.get_manifest("roundtrip", "v1")


def test_token_auth_failures_and_anonymous_pull(registry_token: TestRegistry) -> None:
    push_test_image(registry_token, "private/app", "v1", [layer_tar([file("a", "x")])])
    push_test_image(registry_token, "public/anon", "v1", [layer_tar([file("a", "y")])])
    with registry_token.client(creds=Credentials("bob", "wrong")) as c:
        with pytest.raises(AuthenticationError, match="token server .* refused user 'bob'"):
            c.get_manifest("public/anon", "v1")
    with registry_token.client(creds=False) as anon:
        assert anon.get_manifest("public/anon", "v1").media_type == oci.MediaType.OCI_MANIFEST.value
        with pytest.raises(AuthenticationError, match="private/app"):
            anon.get_manifest("private/app", "v1")
        data = b"anonymous layer"
        with pytest.raises(AuthenticationError):
            anon.upload_blob("public/anon", Digest.of(data), len(data), io.BytesIO(data))


def test_token_refresh_on_expiry(registry_token: TestRegistry) -> None:
    ts = registry_token.token_server
    assert ts is not None
    push_test_image(registry_token, "public/refresh", "v1", [layer_tar([file("a", "r")])])
    ts.reset()
    try:
        ts.expires_in = 1  # the client refreshes before reuse once this has passed
        with registry_token.client() as c:
            c.get_manifest("public/refresh", "v1")
            c.get_manifest("public/refresh", "v1")
            n = len(ts.requests)
            time.sleep(1.2)
            c.get_manifest("public/refresh", "v1")
            assert len(ts.requests) == n + 1
    finally:
        ts.reset()


def test_token_refresh_on_401(registry_token: TestRegistry) -> None:
    """A token the registry rejects (expired beyond its leeway) is dropped and a fresh one fetched."""
    ts = registry_token.token_server
    assert ts is not None
    push_test_image(registry_token, "public/expired", "v1", [layer_tar([file("a", "e")])])
    with registry_token.client() as c:
        c.get_manifest("public/expired", "v1")
        ts.reset()
        try:
            ts.jwt_exp_offset = -600  # the client believes expires_in=300, the registry sees an old token
            with registry_token.client() as c2:
                with pytest.raises(AuthenticationError):
                    c2.get_manifest("public/expired", "v1")  # both tries get expired tokens
                assert len(ts.requests) == 2
                ts.jwt_exp_offset = None
                assert c2.get_manifest("public/expired", "v1").digest is not None
                assert len(ts.requests) == 3
        finally:
            ts.reset()


def test_tls_without_ca_is_a_clear_error(registry_tls: TestRegistry) -> None:
    with RegistryClient(registry_tls.host, config=RegistryConfig(certs_dirs=(), retry_base_delay=0.01)) as c:
        with pytest.raises(TransportError, match=r"certificate signed by unknown authority.*certs.d"):
            c.ping()
    insecure = RegistryConfig(certs_dirs=(), insecure_registries=(registry_tls.host,))
    with RegistryClient(registry_tls.host, config=insecure) as c:
        c.ping()
        assert c.scheme == "https"


def test_https_client_against_plain_registry(registry_http: TestRegistry) -> None:
    t = Urllib3Transport(RegistryConfig())
    try:
        with pytest.raises(TLSFailure, match="server gave HTTP response to HTTPS client") as ei:
            t.send("GET", f"https://{registry_http.host}/v2/", {})
        assert ei.value.plain_http
    finally:
        t.close()
    # a loopback registry is allowed to fall back, as docker does
    with registry_http.client() as c:
        c.ping()
        assert c.scheme == "http"


def test_login_against_real_registries(registry_basic: TestRegistry, registry_token: TestRegistry,
                                       tmp_path: Path) -> None:
    p = tmp_path / "config.json"
    store = DockerConfigStore([p], p)
    with pytest.raises(AuthenticationError):
        login(registry_basic.host, "alice", "bad", config=registry_basic.config(creds=False), store=store)
    login(registry_basic.host, "alice", "alice-pw", config=registry_basic.config(creds=False), store=store)
    with pytest.raises(AuthenticationError):
        login(registry_token.host, "bob", "bad", config=registry_token.config(creds=False), store=store)
    login(registry_token.host, "bob", "bob-pw", config=registry_token.config(creds=False), store=store)
    assert store.lookup(registry_basic.host) == Credentials("alice", "alice-pw")
    assert store.lookup(registry_token.host) == Credentials("bob", "bob-pw")
    # and a client reading that store authenticates with it
    with RegistryClient(registry_basic.host, config=registry_basic.config(creds=False)) as c0:
        with pytest.raises(AuthenticationError):
            c0.ping()
    cfg = RegistryConfig(credentials=store, certs_dirs=registry_basic.config().certs_dirs)
    with RegistryClient(registry_basic.host, config=cfg) as c:
        c.ping()


# ----------------------------------------------------------------------------- fault proxy


@pytest.fixture(scope="module")
def big_image(registry_http: TestRegistry) -> tuple[str, oci.Descriptor, bytes]:
    layer = _big_layer()
    pushed = push_test_image(registry_http, "faults/big", "v1", [layer])
    return "faults/big", pushed.layers[0], layer


def _proxy_client(proxy: FaultProxy) -> RegistryClient:
    c = RegistryClient(proxy.host, config=RegistryConfig(credentials=None, certs_dirs=(), retry_base_delay=0.01))
    slept: list[float] = []
    c.sleep = slept.append
    c.slept = slept  # type: ignore[attr-defined]
    return c


def test_proxy_500_and_429_are_retried(fault_proxy: FaultProxy, big_image: tuple[str, oci.Descriptor, bytes]) -> None:
    repo, desc, layer = big_image
    fault_proxy.add(Fault.status(500, path="/manifests/", times=2), Fault.too_many("2", path="/manifests/"))
    with _proxy_client(fault_proxy) as c:
        m = c.get_manifest(repo, "v1")
        assert oci.Manifest.from_bytes(m.data).layers[0] == desc
        assert len(c.slept) == 3 and c.slept[2] == 2.0  # type: ignore[attr-defined]
    kinds = [k for (meth, path, _, k) in fault_proxy.log if "/manifests/" in path]
    assert kinds == ["status", "status", "status", ""]


def test_proxy_reset_mid_body(fault_proxy: FaultProxy, big_image: tuple[str, oci.Descriptor, bytes]) -> None:
    repo, desc, layer = big_image
    fault_proxy.add(Fault.reset(100_000))
    with _proxy_client(fault_proxy) as c:
        with c.open_blob(repo, desc.digest) as s:
            got = bytearray()
            with pytest.raises(ConnectionFailure):
                while chunk := s.read(65536):
                    got += chunk
            assert 0 < len(got) <= 100_000 and bytes(got) == layer[: len(got)]
        # resume by hand at what we have
        with c.open_blob(repo, desc.digest, offset=len(got)) as s:
            assert s.resumed
            assert bytes(got) + s.read() == layer


def test_resuming_reader_through_resets(fault_proxy: FaultProxy,
                                        big_image: tuple[str, oci.Descriptor, bytes]) -> None:
    repo, desc, layer = big_image
    fault_proxy.add(Fault.reset(150_000, times=2))
    with _proxy_client(fault_proxy) as c:
        with ResumingBlobReader(c, repo, desc.digest, size=desc.size) as r:
            dr = DigestingReader(r)
            out = bytearray()
            while chunk := dr.read(65536):
                out += chunk
            dr.verify(desc.digest, desc.size)
            assert bytes(out) == layer and r.resumes == 2 and r.restarts == 0
    ranges = [rng for (_, path, rng, _) in fault_proxy.log if "/blobs/sha256:" in path]
    # Each reopen asks for what was received so far (a reset may lose bytes still in the socket buffer,
    # so only upper bounds are certain).
    offsets = [int(r.removeprefix("bytes=").removesuffix("-")) if r else 0 for r in ranges]
    assert len(offsets) == 3 and offsets[0] == 0
    assert offsets == sorted(offsets) and offsets[1] <= 150_000 and offsets[2] <= offsets[1] + 150_000
    assert all(r.startswith("bytes=") for r, o in zip(ranges, offsets, strict=True) if o)


def test_resuming_reader_when_range_is_ignored(fault_proxy: FaultProxy,
                                               big_image: tuple[str, oci.Descriptor, bytes]) -> None:
    repo, desc, layer = big_image
    fault_proxy.add(Fault.reset(200_000), Fault.ignore_range())
    with _proxy_client(fault_proxy) as c:
        r = ResumingBlobReader(c, repo, desc.digest, size=desc.size)
        h = hashlib.sha256()
        while chunk := r.read(100_000):
            h.update(chunk)
        assert "sha256:" + h.hexdigest() == str(desc.digest)
        assert r.resumes == 1 and r.restarts == 1


def test_corrupted_bytes_are_caught(fault_proxy: FaultProxy, big_image: tuple[str, oci.Descriptor, bytes]) -> None:
    repo, desc, layer = big_image
    fault_proxy.add(Fault.corrupt(12345), Fault.corrupt(path="/manifests/"))
    with _proxy_client(fault_proxy) as c:
        dr = DigestingReader(ResumingBlobReader(c, repo, desc.digest, size=desc.size))
        while dr.read(65536):
            pass
        with pytest.raises(VerificationError, match="digest mismatch"):
            dr.verify(desc.digest, desc.size)
        with pytest.raises(VerificationError, match="Docker-Content-Digest"):
            c.get_manifest(repo, "v1")
        assert c.get_manifest(repo, "v1").digest is not None  # the fault fired once


def test_blob_500_exhausts_retries(fault_proxy: FaultProxy, big_image: tuple[str, oci.Descriptor, bytes]) -> None:
    repo, desc, _ = big_image
    fault_proxy.add(Fault.status(503, times=50))
    with _proxy_client(fault_proxy) as c:
        with pytest.raises(TransportError, match="HTTP 503 after 5 attempts"):
            c.open_blob(repo, desc.digest)


def test_client_certificate_from_certs_d(registry_tls_material: object, tmp_path: Path) -> None:
    from tests.support.registry import TLSMaterial, start_registry

    assert isinstance(registry_tls_material, TLSMaterial)
    reg = start_registry("mtls", registry_tls_material)
    try:
        with reg.client() as c:  # certs.d/<host>/ has ca.crt, client.cert and client.key
            c.ping()
            push_test_image(c, "mtls/app", "v1", [layer_tar([file("m", "tls")])])
            assert c.list_tags("mtls/app") == ["v1"]
        only_ca = tmp_path / "certs.d"
        (only_ca / reg.host).mkdir(parents=True)
        assert reg.ca_path is not None
        (only_ca / reg.host / "ca.crt").write_bytes(reg.ca_path.read_bytes())
        with reg.client(certs_dirs=(only_ca,), retries=1) as c:
            with pytest.raises(TransportError, match="client certificate"):
                c.ping()
    finally:
        reg.stop()
    assert not reg.root.exists()


def test_one_client_shared_by_threads(registry_http: TestRegistry) -> None:
    from concurrent.futures import ThreadPoolExecutor

    layers = [layer_tar([file(f"f{i}", f"content {i}\n" * 2000)]) for i in range(8)]
    pushed = push_test_image(registry_http, "threads/app", "v1", layers)
    with registry_http.client(max_parallel=3) as c:
        def fetch(desc: oci.Descriptor) -> bool:
            with ResumingBlobReader(c, "threads/app", desc.digest, size=desc.size) as r:
                dr = DigestingReader(r)
                while dr.read(4096):
                    pass
                dr.verify(desc.digest, desc.size)
            return True

        with ThreadPoolExecutor(6) as ex:
            assert all(ex.map(fetch, list(pushed.layers) * 3))
