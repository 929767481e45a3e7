"""The Distribution v2 (OCI distribution-spec) registry client.

Public API (import from ``geedocker.registry``; ``Digest`` is ``geedocker.digest.Digest``)::

    class RegistryClient:                                  # registry/client.py: the parts below put together
        # registry/session.py (RegistrySession): how every request is sent; registry/errormap.py: the errors
        def __init__(self, host: str, *, config: RegistryConfig | None = None,
                     transport: Transport | None = None) -> None
            # host is Reference.registry_host ("127.0.0.1:5000", "registry-1.docker.io").
            # Without a transport, an Urllib3Transport is made from ``config`` (proxies, certs.d, TLS).
            # Thread-safe: one client per registry host can serve parallel blob downloads.
        scheme: str                                        # "https" or "http", settled by the first request
        auth: Authenticator                                # challenge + token cache (auth.token_requests counts)
        sleep: Callable[[float], None]                     # time.sleep; tests swap it to record backoff delays
        def close(self) -> None
        def ping(self) -> None                             # client.py: GET /v2/ (authenticating if challenged)
        # registry/manifests.py (ManifestRequests):
        def get_manifest(self, repo: str, ref: str, accept: str = oci.ACCEPT_MANIFESTS) -> FetchedManifest
            # ref is a tag or "sha256:...". Bytes capped at oci.MAX_MANIFEST_BYTES (ManifestError).
            # .digest is computed from the bytes; checked against the Docker-Content-Digest header and,
            # when ref is a digest, against ref (VerificationError). Schema 1 -> ManifestError.
        def head_manifest(self, repo: str, ref: str, accept: str = oci.ACCEPT_MANIFESTS) -> ManifestHead | None
            # None when the registry says 404.
        # registry/blobs.py (BlobRequests):
        def open_blob(self, repo: str, digest: Digest, offset: int = 0) -> BlobStream
            # Streaming GET (follows redirects, dropping Authorization on another host).
            # offset > 0 sends "Range: bytes=offset-".
        def get_blob_bytes(self, repo: str, digest: Digest, max_size: int) -> bytes
            # Small blobs (configs): capped at max_size (VerificationError past it) and digest-verified.
        def blob_exists(self, repo: str, digest: Digest) -> int | None   # size, or None if absent
        # registry/uploads.py (UploadRequests):
        def upload_blob(self, repo: str, digest: Digest, size: int, stream: BinaryIO,
                        mount_from: str | None = None) -> bool
            # False when the registry already had it (one HEAD, nothing sent), True once mounted or
            # uploaded; tries a cross-repo mount first when mount_from is given;
            # otherwise POST then a monolithic PUT (small blobs) or PATCH chunks + PUT. The bytes read
            # from ``stream`` are verified against digest/size before the upload is committed.
        def put_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> Digest  # manifests.py
        def list_tags(self, repo: str) -> list[str]         # registry/tags.py; follows Link pagination (capped)

    @value class FetchedManifest: data: bytes; media_type: str; digest: Digest      # registry/manifests.py
    @value class ManifestHead:             digest: Digest; media_type: str; size: int

    class BlobStream:                                      # registry/blobs.py; context manager, from open_blob
        offset: int          # where the bytes you will read start in the blob (0 if Range was ignored)
        resumed: bool        # True when offset > 0 was asked for and the server honoured it (206)
        length: int | None   # Content-Length of this response (bytes remaining), if sent
        def read(self, n: int = -1) -> bytes  # b"" at the end; a broken connection raises ConnectionFailure
        def close(self) -> None

    class ResumingBlobReader:                               # registry/resume.py; what pull should use
        def __init__(self, client: RegistryClient, repo: str, digest: Digest, *, size: int | None = None,
                     offset: int = 0, max_resumes: int = 5) -> None
        # read(n) -> bytes: a plain stream of the blob from ``offset``. On a mid-stream connection failure
        # (or a short body when size is known) it reopens at the current position with Range; if the
        # server ignores Range it re-reads and discards the bytes already delivered, so callers (and
        # their hashers) see one seamless stream. With ``size`` it also resumes a body that ends short and
        # raises VerificationError on one that runs long. .position, .resumes, .restarts (Range ignored),
        # close(), context manager. Gives up with TransportError after max_resumes.
        # It does not verify the digest: wrap it in digest.DigestingReader for that.

    @value class RegistryConfig:                    # registry/config.py
        insecure_registries: tuple[str, ...] = ()   # "host[:port]" or CIDR: plain HTTP allowed, TLS unverified
        certs_dirs: tuple[Path, ...] = (/etc/docker/certs.d, /etc/containers/certs.d)
            # certs.d/<host[:port]>/*.crt = extra CAs, <name>.cert + <name>.key = client cert pairs
        credentials: CredentialSource | None = None  # None: DockerConfigStore.from_env()
        user_agent: str; connect_timeout: float; read_timeout: float
        retries: int = 4; retry_base_delay: float = 0.5; retry_max_delay: float = 10.0
        max_retry_after: float = 30.0; max_parallel: int = 4; chunk_size: int = 8 MiB
        def is_insecure(self, host: str) -> bool     # listed, or nothing (loopback only falls back to HTTP)
        def may_use_http(self, host: str) -> bool    # insecure or loopback (localhost, 127.0.0.0/8, ::1)
        @classmethod from_env(cls) -> RegistryConfig # GEEDOCKER_INSECURE_REGISTRIES="a:5000,b", GEEDOCKER_CERTS_D

    # registry/credentials.py (the files) and registry/login.py (login checks with the client, then saves)
    @value class Credentials: username: str; password: str
    class CredentialSource(Protocol): def lookup(self, host: str) -> Credentials | None
    class StaticCredentials(CredentialSource): __init__(self, by_host: Mapping[str, Credentials])
    class DockerConfigStore(CredentialSource):
        # Reads $REGISTRY_AUTH_FILE (podman's auth.json; wins) then $DOCKER_CONFIG/config.json
        # (default ~/.docker/config.json). Docker Hub is stored under "https://index.docker.io/v1/".
        @classmethod from_env(cls) -> DockerConfigStore
        def save(self, host: str, creds: Credentials) -> Path     # atomic, mode 0600, keeps other keys
        def remove(self, host: str) -> bool
    def login(host: str, username: str, password: str, *, config: RegistryConfig | None = None,
              transport: Transport | None = None, store: DockerConfigStore | None = None) -> Path
        # verifies with a ping carrying the credentials (AuthenticationError if refused), then saves
    def logout(host: str, store: DockerConfigStore | None = None) -> bool

    # registry/transport.py: the seam for tests (tests/registry/fakes.py has an in-memory registry)
    class Transport(Protocol):
        def send(self, method: str, url: str, headers: Mapping[str, str],
                 body: bytes | None = None) -> Response        # never follows redirects
        def close(self) -> None
    class Response: status: int; headers: Mapping[str, str] (lower-case keys); url: str
        def read(self, n: int = -1) -> bytes; def read_capped(self, cap: int, what: str) -> bytes
        def close(self) -> None
    class ConnectionFailure(TransportError)                 # connection refused/reset, timeouts: retryable
        refused: bool
    class TLSFailure(TransportError)                        # handshake failures, with a hint in the message
        plain_http: bool                                    # the server answered in plain HTTP
    class Urllib3Transport(Transport): __init__(self, config: RegistryConfig)

Retries: connection failures before a response, 429 and 500/502/503/504 are retried ``config.retries`` times
with exponential backoff and jitter from ``config.retry_base_delay``; Retry-After is honoured up to
``config.max_retry_after``. Upload chunks (PATCH) are not re-sent after a connection broke mid-request.
A 401 drops the token that was sent and fetches a fresh one once (expired token, or a new scope needed).
Plain HTTP: tried after HTTPS for insecure registries and loopback ones (localhost, 127.0.0.0/8, ::1),
whose TLS is still verified when they do speak HTTPS.

Test support: tests/registry/fakes.py (FakeRegistry, an in-memory Transport with faults),
tests/support/registry.py (real docker-registry fixtures and push helpers), tests/support/faultproxy.py.

Errors (geedocker.errors): 401/403 -> AuthenticationError naming registry and repository; 404 and
MANIFEST_UNKNOWN/NAME_UNKNOWN/BLOB_UNKNOWN -> NotFoundError naming the reference; TLS failures,
"server gave HTTP response to HTTPS client", and 5xx/429/connection failures that outlived the retries ->
TransportError; schema 1 or oversized manifests -> ManifestError; digest mismatches -> VerificationError.
"""

from geedocker.registry.login import login, logout  # light, and bound here before anyone imports the submodule

TYPE_CHECKING = False  # as typing.TYPE_CHECKING
if TYPE_CHECKING:
    from geedocker.registry.blobs import BlobStream
    from geedocker.registry.client import RegistryClient
    from geedocker.registry.config import RegistryConfig
    from geedocker.registry.credentials import (
        Credentials,
        CredentialSource,
        DockerConfigStore,
        StaticCredentials,
    )
    from geedocker.registry.manifests import FetchedManifest, ManifestHead
    from geedocker.registry.resume import ResumingBlobReader
    from geedocker.registry.transport import ConnectionFailure, Response, Transport

# The other names load on first use (PEP 562): a cached pull reads ``geedocker.registry.config`` and ``.auth`` without
# the client (and its parts), urllib3 and the resuming reader.
_HOMES = {
    "BlobStream": "blobs", "FetchedManifest": "manifests", "ManifestHead": "manifests", "RegistryClient": "client",
    "RegistryConfig": "config", "Credentials": "credentials", "CredentialSource": "credentials",
    "DockerConfigStore": "credentials", "StaticCredentials": "credentials", "ResumingBlobReader": "resume",
    "ConnectionFailure": "transport", "Response": "transport", "Transport": "transport",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    found = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = found  # kept, and so never asked for again
    return found


__all__ = [
    "BlobStream",
    "ConnectionFailure",
    "CredentialSource",
    "Credentials",
    "DockerConfigStore",
    "FetchedManifest",
    "ManifestHead",
    "RegistryClient",
    "RegistryConfig",
    "Response",
    "ResumingBlobReader",
    "StaticCredentials",
    "Transport",
    "login",
    "logout",
]
