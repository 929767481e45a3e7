"""A pull of an image that is already here: one conditional manifest request, nothing else.

``check`` resolves the reference and reads the local record (``images.json``); when the image is complete in the
store (its manifest, its config and every layer blob with the sizes the manifest records, every layer unpacked)
it asks the registry for the tag's manifest with ``If-None-Match: "<the digest we have>"`` over
``registry.lite.LiteTransport``: a 304 (or a 200 whose bytes have that digest, from a registry that ignores the
condition) means the image is up to date. A digest reference that is present sends nothing at all. Anything
else (a moved tag, a missing blob, a redirect, an error, another platform) returns None and the caller pulls the
long way (``images.pull``), which also reports errors with their full wording.

Auth is ``registry.auth``'s: a 401's challenge, anonymous bearer tokens or tokens for the stored credentials
(config.json / ``REGISTRY_AUTH_FILE``), basic credentials. Over HTTPS the stored basic credentials of a registry
are sent with the first request, saving the round trip of a challenge. The scheme: HTTPS, or plain HTTP where the
full client would fall back to it (loopback and insecure registries); for a loopback registry without a certs.d
entry plain HTTP is tried first (it does not leave the host, and no credentials go with it).
"""

from __future__ import annotations

from geedocker import reference as refs
from geedocker.digest import Digest
from geedocker.errors import GeeDockerError
from geedocker.logger import get_logger
from geedocker.store.images import ImageStore
from geedocker.store.layout import Layout
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from typing import Any

    from geedocker.oci import Platform
    from geedocker.registry.config import RegistryConfig
    from geedocker.registry.tokens import TokenCache
    from geedocker.registry.transport import Response, Transport

log = get_logger(__name__)

TOKENS_FILE = "registry-tokens.json"  # under $RUN: bearer tokens kept between pulls (registry.tokens)


@value
class UpToDate:
    reference: refs.Reference
    digest: Digest  # what the reference resolves to (an index or a manifest), as in PullResult
    requests: int  # HTTP requests sent


def check(
    layout: Layout,
    name: str,
    *,
    platform: Platform | None = None,
    config: RegistryConfig | None = None,
    transport: Transport | None = None,
) -> UpToDate | None:
    """``UpToDate`` when ``name`` is complete here and the registry still has it under that name, else None."""
    try:
        ref = refs.parse(name)
        found = _local(layout, ref, platform)
        if found is None:
            return None
        if ref.digest is not None:
            fresh: UpToDate | None = UpToDate(ref, ref.digest, 0)
        else:
            from geedocker.registry.tokens import TokenCache  # the registry package: only to ask the registry

            fresh = _ask_registry(ref, found, config, transport, TokenCache(layout.run / TOKENS_FILE))
        if fresh is not None:  # docker reports a pull also when the image was up to date
            from geedocker.images import events

            events.by_reference(layout, ImageStore(layout).resolve(str(ref)), "pull", ref)
        return fresh
    except (GeeDockerError, OSError, ValueError, KeyError, TypeError) as e:  # the long way says it properly
        log.debug("cached pull of %s: %s; pulling the long way", name, e)
        return None


def _local(layout: Layout, ref: refs.Reference, platform: Platform | None) -> list[Digest] | None:
    """The digests the reference may resolve to in the registry (newest last), if the image is complete here."""
    data = ImageStore(layout).read_index()
    images: dict[str, Any] = data["images"]
    if ref.digest is not None:
        key = next((m for m, info in images.items()
                    if m == str(ref.digest) or f"{ref.repository}@{ref.digest}" in info.get("repo_digests", [])),
                   None)
    else:
        key = data["tags"].get(str(ref))
    if key is None:
        return None
    info = images[key]
    mdigest = Digest.parse(key)
    tops = [Digest.parse(d.split("@", 1)[1]) for d in info.get("repo_digests", [])
            if d.split("@", 1)[0] == ref.repository]
    if ref.digest is not None:
        tops = [ref.digest]
    if not _complete(layout, mdigest, Digest.parse(info["config"])):
        return None
    indexes = {str(d) for d in info.get("indexes", [])}
    usable = []
    for top in tops:
        if str(top) in indexes:
            if _chosen_from(layout, top, platform) == mdigest:
                usable.append(top)
        elif top == mdigest and (platform is None or _config_platform_matches(layout, info, platform)):
            usable.append(top)
    return usable or None


def _complete(layout: Layout, mdigest: Digest, cdigest: Digest) -> bool:
    from geedocker import oci
    from geedocker.store.blobs import BlobStore
    from geedocker.store.layers import LayerStore

    blobs = BlobStore(layout)
    manifest = oci.Manifest.from_bytes(blobs.read_bytes(mdigest, oci.MAX_MANIFEST_BYTES))
    if manifest.config.digest != cdigest or not blobs.has_size(cdigest, manifest.config.size):
        return False
    if not all(blobs.has_size(layer.digest, layer.size) for layer in manifest.layers):
        return False
    config = oci.ImageConfig.from_bytes(blobs.read_bytes(cdigest, oci.MAX_CONFIG_BYTES))
    layers = LayerStore(layout)
    chains = oci.chain_ids(config.diff_ids)
    return len(chains) == len(manifest.layers) and all(layers.has(c) for c in chains)


def _chosen_from(layout: Layout, index_digest: Digest, platform: Platform | None) -> Digest | None:
    """The manifest a pull picks from a stored index for ``platform`` (default: the host's)."""
    from geedocker import oci
    from geedocker.store.blobs import BlobStore

    data = BlobStore(layout).read_bytes(index_digest, oci.MAX_MANIFEST_BYTES)
    return oci.Index.from_bytes(data).select(platform or oci.Platform.host()).digest


def _config_platform_matches(layout: Layout, info: dict[str, Any], platform: Platform) -> bool:
    from geedocker import oci
    from geedocker.store.blobs import BlobStore

    config = oci.ImageConfig.from_bytes(BlobStore(layout).read_bytes(Digest.parse(info["config"]),
                                                                      oci.MAX_CONFIG_BYTES))
    return platform.matches(oci.Platform(config.os, config.architecture, config.variant))


def _ask_registry(ref: refs.Reference, tops: list[Digest], config: RegistryConfig | None,
                  transport: Transport | None, tokens: TokenCache | None = None) -> UpToDate | None:
    import time

    from geedocker import oci
    from geedocker.registry.auth import Authenticator, Scope, basic_header
    from geedocker.registry.config import RegistryConfig
    from geedocker.registry.lite import LiteTransport

    config = config or RegistryConfig.from_env()
    lite = transport or LiteTransport(config)
    host = ref.registry_host
    creds = config.credentials
    if creds is None:
        from geedocker.registry.credentials import DockerConfigStore

        creds = DockerConfigStore.from_env()
    sent = [0]

    def send(method: str, url: str, headers: dict[str, str]) -> Response:
        sent[0] += 1
        return lite.send(method, url, {"User-Agent": config.user_agent, **headers})

    # wall-clock time: a token's expiry is kept for the next commands (registry.tokens)
    auth = Authenticator(host, creds, lambda url, headers: send("GET", url, dict(headers)), clock=time.time)
    scheme = _scheme(config, host)
    path = f"/v2/{ref.path}/manifests/{ref.tag or refs.DEFAULT_TAG}"
    headers = {"Accept": oci.ACCEPT_MANIFESTS, "If-None-Match": f'"{tops[-1]}"'}
    scope = Scope.pull(ref.path)
    user = auth.credentials.username if auth.credentials is not None else ""
    authz = None
    resp = None
    kept = tokens.get(host, str(scope), user, scheme, time.time()) if tokens is not None else None
    if kept is not None:  # a token an earlier pull fetched: the one request, with it
        authz = "Bearer " + kept
        resp = send("GET", f"{scheme}://{host}{path}", {**headers, "Authorization": authz})
        if resp.status == 401 and tokens is not None:
            tokens.forget(host, str(scope), user, scheme, time.time())  # revoked before its time
    if resp is None:
        if scheme == "https" and auth.credentials is not None:
            authz = basic_header(auth.credentials)  # the user stored them for this registry; TLS protects them
        resp = _send_scheme(send, scheme, host, path, headers, authz, config)
    if resp.status == 401 and auth.on_unauthorized(resp.headers.get("www-authenticate"), authz):
        resp.close()
        authz = auth.authorization([scope])
        used = _used_scheme(resp.url)
        resp = send("GET", f"{used}://{host}{path}", {**headers, **({"Authorization": authz} if authz else {})})
        token = auth.token_for([scope])
        if tokens is not None and token is not None and resp.status != 401:
            tokens.put(host, str(scope), user, used, token.value, token.expires_at, time.time())
    try:
        if resp.status == 304:
            return UpToDate(ref, tops[-1], sent[0])
        if resp.status == 200:
            got = Digest.of(resp.read(oci.MAX_MANIFEST_BYTES + 1))
            if got in tops:
                return UpToDate(ref, got, sent[0])
        log.debug("cached pull of %s: HTTP %d", ref, resp.status)
        return None
    finally:
        resp.close()


def _scheme(config: RegistryConfig, host: str) -> str:
    """The first scheme to try: HTTPS, except for a loopback registry with no certs.d entry (see the doc)."""
    from geedocker.registry.config import is_loopback

    if is_loopback(host) and not config.is_insecure(host) and config.certs_dir_for(host) is None:
        return "http"
    return "https"


def _used_scheme(url: str) -> str:
    return url.partition("://")[0]


def _send_scheme(send: Any, scheme: str, host: str, path: str, headers: dict[str, str], authz: str | None,
                 config: RegistryConfig) -> Response:
    """Send on ``scheme``; fall over to the other one where the full client would (see the module doc)."""
    from geedocker.registry.transport import ConnectionFailure, TLSFailure

    hdrs = {**headers, **({"Authorization": authz} if authz else {})}
    try:
        resp: Response = send("GET", f"{scheme}://{host}{path}", hdrs if scheme == "https" else headers)
    except (ConnectionFailure, TLSFailure) as e:
        plain = isinstance(e, TLSFailure) and e.plain_http
        refused = isinstance(e, ConnectionFailure) and e.refused
        if scheme == "https" and config.may_use_http(host) and (plain or refused):
            return send("GET", f"http://{host}{path}", headers)  # type: ignore[no-any-return]
        raise
    if scheme == "http" and resp.status == 400:
        # an HTTPS server on a loopback port answers a plain request with 400
        resp.close()
        return send("GET", f"https://{host}{path}", hdrs)  # type: ignore[no-any-return]
    return resp
