"""Manifests and indexes: fetch one (verified against its digest), ask for its digest and size, push one.

``ManifestRequests`` is the manifest part of ``registry.client.RegistryClient``; it is apart from blobs and
uploads because manifests are small documents checked whole (size cap, digest headers, schema 1), not streams.
"""

from __future__ import annotations

from urllib.parse import quote

from geedocker import oci
from geedocker.digest import Digest
from geedocker.errors import DigestError, ManifestError, RegistryError, VerificationError
from geedocker.registry.auth import Scope
from geedocker.registry.session import RegistrySession
from geedocker.values import value


@value
class FetchedManifest:
    """A manifest or index exactly as the registry sent it, with its verified digest."""

    data: bytes
    media_type: str
    digest: Digest


@value
class ManifestHead:
    digest: Digest
    media_type: str
    size: int


class ManifestRequests(RegistrySession):
    """``GET``, ``HEAD`` and ``PUT /v2/<repo>/manifests/<ref>``."""

    def _ref(self, repo: str, ref: str) -> str:
        sep = "@" if ":" in ref else ":"
        return f"{self.host}/{repo}{sep}{ref}"

    def get_manifest(self, repo: str, ref: str, accept: str = oci.ACCEPT_MANIFESTS) -> FetchedManifest:
        what = f"manifest {self._ref(repo, ref)}"
        want = _digest_or_none(ref)
        resp = self._request("GET", f"/v2/{repo}/manifests/{quote(ref, safe=':')}", scopes=[Scope.pull(repo)],
                             what=what, headers={"Accept": accept})
        if resp.status != 200:
            raise self._error(resp, what)
        try:
            data = resp.read_capped(oci.MAX_MANIFEST_BYTES, what)
        except RegistryError as e:
            raise ManifestError(f"{e}: manifests may be at most {oci.MAX_MANIFEST_BYTES} bytes") from e
        finally:
            resp.close()
        digest = Digest.of(data, want.algorithm if want else "sha256")
        if want is not None and digest != want:
            raise VerificationError(f"{what}: the registry sent content with digest {digest}")
        header = _digest_or_none(resp.headers.get("docker-content-digest", ""))
        if header is not None:
            check = digest if header.algorithm == digest.algorithm else Digest.of(data, header.algorithm)
            if check != header:
                raise VerificationError(
                    f"{what}: content digest {check} differs from the Docker-Content-Digest header {header}"
                )
        media_type = oci.detect_media_type(data, resp.headers.get("content-type"))
        if media_type in oci.SCHEMA1_TYPES:
            raise ManifestError(f"{what}: manifest schema 1 is deprecated and not supported; push the image again")
        return FetchedManifest(data, media_type, digest)

    def head_manifest(self, repo: str, ref: str, accept: str = oci.ACCEPT_MANIFESTS) -> ManifestHead | None:
        what = f"manifest {self._ref(repo, ref)}"
        resp = self._request("HEAD", f"/v2/{repo}/manifests/{quote(ref, safe=':')}", scopes=[Scope.pull(repo)],
                             what=what, headers={"Accept": accept})
        if resp.status == 404:
            resp.close()
            return None
        if resp.status != 200:
            raise self._error(resp, what)
        resp.close()
        digest = _digest_or_none(resp.headers.get("docker-content-digest", ""))
        size = resp.headers.get("content-length", "")
        media_type = resp.headers.get("content-type", "").split(";")[0].strip()
        if digest is None or not size.isdigit():
            # Some registries omit the digest on HEAD: fetch the manifest instead.
            m = self.get_manifest(repo, ref, accept)
            return ManifestHead(m.digest, m.media_type, len(m.data))
        return ManifestHead(digest, media_type, int(size))

    def put_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> Digest:
        what = f"manifest {self._ref(repo, ref)}"
        if len(data) > oci.MAX_MANIFEST_BYTES:
            raise ManifestError(f"{what}: {len(data)} bytes is over the {oci.MAX_MANIFEST_BYTES}-byte limit")
        resp = self._request("PUT", f"/v2/{repo}/manifests/{quote(ref, safe=':')}", scopes=[Scope.push(repo)],
                             what=what, headers={"Content-Type": media_type, "Content-Length": str(len(data))},
                             body=data)
        if resp.status not in (200, 201, 202):
            raise self._error(resp, what)
        resp.close()
        digest = Digest.of(data)
        header = _digest_or_none(resp.headers.get("docker-content-digest", ""))
        if header is not None and header.algorithm == digest.algorithm and header != digest:
            raise VerificationError(f"{what}: the registry stored digest {header}, we sent {digest}")
        return digest


def _digest_or_none(text: str) -> Digest | None:
    if ":" not in text:
        return None
    try:
        return Digest.parse(text.strip())
    except DigestError:
        return None

