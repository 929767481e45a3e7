"""The cached pull: one conditional manifest request, or none for a digest; anything amiss -> the long way.

Unit tests run against the in-memory FakeRegistry (which ignores If-None-Match and answers 200: the digest of
the bytes decides); the ``registry`` tests run against the four real docker-registry kinds and count the
requests the registry itself logged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geedocker.images.cached import check
from geedocker.images.pull import PullOptions, pull
from geedocker.registry import RegistryClient, RegistryConfig, StaticCredentials
from geedocker.registry.credentials import Credentials
from geedocker.registry.transport import Response
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageStore
from geedocker.store.layout import Layout
from tests.registry.fakes import FakeRegistry
from tests.support.layers import file, gzip_bytes, layer_tar
from tests.support.registry import (  # noqa: F401 - fixtures
    TestRegistry,
    build_and_push,
    push_index,
    push_test_image,
    registry_basic,
    registry_http,
    registry_tls,
    registry_tls_material,
    registry_token,
)

REPO = "team/cached"


def layers(tag: str) -> list[bytes]:
    return [gzip_bytes(layer_tar([file("etc/version", tag)])), gzip_bytes(layer_tar([file("etc/two", tag)]))]


def fake_client(fake: FakeRegistry) -> RegistryClient:
    return RegistryClient(fake.host, config=RegistryConfig(credentials=StaticCredentials({})), transport=fake)


class NoNetwork:
    def send(self, method: str, url: str, headers: object, body: bytes | None = None) -> Response:
        raise AssertionError(f"a request was sent: {method} {url}")

    def close(self) -> None:
        pass


FAKE_CFG = RegistryConfig(credentials=StaticCredentials({}))


@pytest.fixture
def pulled(layout: Layout) -> tuple[FakeRegistry, str, object]:
    fake = FakeRegistry()
    pushed = build_and_push(fake_client(fake), REPO, "1", layers("1"))
    name = f"{fake.host}/{REPO}:1"
    pull(layout, name, client=fake_client(fake))
    fake.requests.clear()
    return fake, name, pushed


def test_an_unchanged_tag_is_one_request(layout: Layout, pulled: tuple[FakeRegistry, str, object]) -> None:
    fake, name, pushed = pulled
    fresh = check(layout, name, config=FAKE_CFG, transport=fake)
    assert fresh is not None and fresh.digest == pushed.digest  # type: ignore[attr-defined]
    assert fresh.requests == 1 and len(fake.requests) == 1
    sent = fake.requests[0]
    assert sent.method == "GET" and sent.url.endswith(f"/v2/{REPO}/manifests/1")
    assert sent.headers["If-None-Match"] == f'"{pushed.digest}"'  # type: ignore[attr-defined]


def test_a_present_digest_sends_nothing(layout: Layout, pulled: tuple[FakeRegistry, str, object]) -> None:
    fake, name, pushed = pulled
    by_digest = f"{fake.host}/{REPO}@{pushed.digest}"  # type: ignore[attr-defined]
    fresh = check(layout, by_digest, config=FAKE_CFG, transport=NoNetwork())  # type: ignore[arg-type]
    assert fresh is not None and fresh.requests == 0 and fresh.digest == pushed.digest  # type: ignore[attr-defined]


def test_a_moved_tag_takes_the_long_way(layout: Layout, pulled: tuple[FakeRegistry, str, object]) -> None:
    fake, name, _ = pulled
    newer = build_and_push(fake_client(fake), REPO, "1", layers("2"))
    assert check(layout, name, config=FAKE_CFG, transport=fake) is None
    res = pull(layout, name, client=fake_client(fake))
    assert res.digest == newer.digest and not res.up_to_date
    assert check(layout, name, config=FAKE_CFG, transport=fake) is not None


def test_a_blob_of_the_wrong_size_or_a_missing_layer_sends_nothing(
        layout: Layout, pulled: tuple[FakeRegistry, str, object]) -> None:
    fake, name, pushed = pulled
    blob = BlobStore(layout).path(pushed.layers[0].digest)  # type: ignore[attr-defined]
    data = blob.read_bytes()
    blob.chmod(0o644)
    blob.write_bytes(data[:-1])
    assert check(layout, name, config=FAKE_CFG, transport=NoNetwork()) is None  # type: ignore[arg-type]
    blob.write_bytes(data)
    assert check(layout, name, config=FAKE_CFG, transport=fake) is not None
    rec = ImageStore(layout).resolve(name)
    meta = layout.layer_dir(rec.chain_ids[1]) / "meta.json"
    meta.rename(meta.with_suffix(".gone"))
    assert check(layout, name, config=FAKE_CFG, transport=NoNetwork()) is None  # type: ignore[arg-type]


def test_absent_images_send_nothing(layout: Layout) -> None:
    assert check(layout, "reg.fake/none:1", config=FAKE_CFG, transport=NoNetwork()) is None  # type: ignore[arg-type]


def test_an_index_is_checked_for_the_platform(layout: Layout) -> None:
    from geedocker.oci import Platform

    fake = FakeRegistry()
    idx = push_index(fake_client(fake), REPO, "multi")
    name = f"{fake.host}/{REPO}:multi"
    pull(layout, name, client=fake_client(fake), options=PullOptions(platform=Platform.parse("linux/amd64")))
    fresh = check(layout, name, platform=Platform.parse("linux/amd64"), config=FAKE_CFG, transport=fake)
    assert fresh is not None and fresh.digest == idx.digest
    # another platform was not pulled: the long way
    assert check(layout, name, platform=Platform.parse("linux/arm64/v8"), config=FAKE_CFG,
                 transport=NoNetwork()) is None  # type: ignore[arg-type]


# --- against real registries ---------------------------------------------------------------------------------


def _manifest_requests(reg: TestRegistry, since: int) -> list[str]:
    text = (reg.root / "registry.log").read_bytes()[since:].decode(errors="replace")
    return re.findall(r'"(?:GET|HEAD) /v2/[^"]*/manifests/[^"]*" (\d{3})', text)


@pytest.mark.registry
@pytest.mark.parametrize("kind", ["registry_http", "registry_tls", "registry_basic", "registry_token"])
@pytest.mark.parametrize("anonymous", [False, True], ids=["credentials", "anonymous"])
def test_against_real_registries(kind: str, anonymous: bool, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    reg: TestRegistry = request.getfixturevalue(kind)
    if anonymous and kind == "registry_basic":
        pytest.skip("basic auth has no anonymous access")
    if not anonymous and kind in ("registry_http", "registry_tls"):
        pytest.skip("no credentials on an open registry")
    repo = f"public/fast-{kind}" if kind == "registry_token" else f"fast/{kind}"
    pushed = push_test_image(reg, repo, "1", layers(kind))
    layout = Layout(tmp_path / "root", tmp_path / "run")
    cfg = reg.config(creds=not anonymous)
    name = f"{reg.host}/{repo}:1"
    pull(layout, name, options=PullOptions(registry_config=cfg))
    log = reg.root / "registry.log"
    before = log.stat().st_size
    if reg.token_server is not None:
        reg.token_server.requests.clear()
    fresh = check(layout, name, config=cfg)
    assert fresh is not None and fresh.digest == pushed.digest
    import time

    time.sleep(0.2)  # the registry writes its access log line after the response
    statuses = _manifest_requests(reg, before)
    if kind == "registry_token":
        # a challenge (401), a token, the conditional request (304): the token for the right user and scope
        assert fresh.requests == 3 and statuses == ["401", "304"]
        assert reg.token_server is not None
        user = None if anonymous else reg.credentials.username  # type: ignore[union-attr]
        assert reg.token_server.requests == [(user, [f"repository:{repo}:pull"])]
        # the token is kept: the next cached pull is the conditional request alone
        before = log.stat().st_size
        reg.token_server.requests.clear()
        again = check(layout, name, config=cfg)
        assert again is not None and again.requests == 1 and reg.token_server.requests == []
        time.sleep(0.2)
        assert _manifest_requests(reg, before) == ["304"]
    else:
        # plain HTTP, TLS verified with the test CA from certs.d, basic credentials sent over TLS at once
        assert fresh.requests == 1 and statuses == ["304"]
    # a tag that moved: no answer from here, and the long way gets it
    newer = push_test_image(reg, repo, "1", layers(kind + "-2"))
    assert check(layout, name, config=cfg) is None
    assert pull(layout, name, options=PullOptions(registry_config=cfg)).digest == newer.digest


@pytest.mark.registry
def test_tls_is_verified(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Without the test CA the check refuses the registry (and leaves the error to the long way)."""
    reg: TestRegistry = request.getfixturevalue("registry_tls")
    repo = "fast/verify"
    push_test_image(reg, repo, "1", layers("v"))
    layout = Layout(tmp_path / "root", tmp_path / "run")
    name = f"{reg.host}/{repo}:1"
    pull(layout, name, options=PullOptions(registry_config=reg.config()))
    before = (reg.root / "registry.log").stat().st_size
    untrusted = reg.config(certs_dirs=())
    assert check(layout, name, config=untrusted) is None
    assert _manifest_requests(reg, before) == []


@pytest.fixture
def pulled_with_tokens(layout: Layout) -> tuple[FakeRegistry, str]:
    """An image pulled from a registry with token auth (anonymous pulls allowed, and a user "ann")."""
    fake = FakeRegistry(auth="bearer", users={"ann": "secret"})
    creds = RegistryConfig(credentials=StaticCredentials({fake.host: Credentials("ann", "secret")}))
    client = RegistryClient(fake.host, config=creds, transport=fake)
    build_and_push(client, REPO, "1", layers("1"))
    name = f"{fake.host}/{REPO}:1"
    pull(layout, name, client=fake_client(fake))
    fake.requests.clear()
    return fake, name


def _token_requests(fake: FakeRegistry) -> int:
    return sum(1 for r in fake.requests if "auth.fake" in r.url)


def test_a_token_is_kept_so_the_next_cached_pull_is_one_request(
        layout: Layout, pulled_with_tokens: tuple[FakeRegistry, str]) -> None:
    fake, name = pulled_with_tokens
    first = check(layout, name, config=FAKE_CFG, transport=fake)
    assert first is not None and first.requests == 3 and _token_requests(fake) == 1  # 401, token, manifest
    kept = layout.run / "registry-tokens.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    fake.requests.clear()
    second = check(layout, name, config=FAKE_CFG, transport=fake)
    assert second is not None and second.requests == 1 and len(fake.requests) == 1
    assert fake.requests[0].headers["Authorization"].startswith("Bearer ")
    assert fake.requests[0].url.endswith(f"/v2/{REPO}/manifests/1")


def test_a_revoked_token_is_replaced(layout: Layout, pulled_with_tokens: tuple[FakeRegistry, str]) -> None:
    fake, name = pulled_with_tokens
    assert check(layout, name, config=FAKE_CFG, transport=fake) is not None
    fake.expire_all_tokens()  # the server drops it before the expiry it gave
    fake.requests.clear()
    again = check(layout, name, config=FAKE_CFG, transport=fake)
    assert again is not None and again.requests == 3 and _token_requests(fake) == 1  # kept one (401), token, manifest
    fake.requests.clear()
    assert check(layout, name, config=FAKE_CFG, transport=fake) is not None and len(fake.requests) == 1


def test_a_token_is_kept_for_its_user_only(layout: Layout, pulled_with_tokens: tuple[FakeRegistry, str]) -> None:
    fake, name = pulled_with_tokens
    assert check(layout, name, config=FAKE_CFG, transport=fake) is not None  # anonymous
    ann = RegistryConfig(credentials=StaticCredentials({fake.host: Credentials("ann", "secret")}))
    fake.requests.clear()
    assert check(layout, name, config=ann, transport=fake) is not None
    assert _token_requests(fake) == 1  # the anonymous token is not hers: a token of her own
    assert "Authorization" in next(r for r in fake.requests if "auth.fake" in r.url).headers
    fake.requests.clear()
    assert check(layout, name, config=ann, transport=fake) is not None and len(fake.requests) == 1
    fake.requests.clear()
    assert check(layout, name, config=FAKE_CFG, transport=fake) is not None and len(fake.requests) == 1


def test_the_token_cache_keeps_tokens_for_exactly_what_they_were_given(tmp_path: Path) -> None:
    from geedocker.registry.tokens import TokenCache

    d = tmp_path / "run"
    cache = TokenCache(d / "tokens.json")
    cache.put("reg.example", "repository:a:pull", "", "https", "tok", expires=100.0, now=0.0)
    assert cache.get("reg.example", "repository:a:pull", "", "https", now=99.0) == "tok"
    assert cache.get("reg.example", "repository:a:pull", "", "https", now=100.0) is None  # expired
    for other in [("reg.other", "repository:a:pull", "", "https"),
                  ("reg.example", "repository:b:pull", "", "https"),
                  ("reg.example", "repository:a:pull", "ann", "https"),
                  ("reg.example", "repository:a:pull", "", "http")]:
        assert cache.get(*other, now=1.0) is None
    cache.forget("reg.example", "repository:a:pull", "", "https", now=1.0)
    assert cache.get("reg.example", "repository:a:pull", "", "https", now=1.0) is None
    cache.put("reg.example", "repository:a:pull", "", "https", "tok", expires=100.0, now=0.0)
    (d / "tokens.json").chmod(0o644)  # not as this module writes it: not trusted
    assert cache.get("reg.example", "repository:a:pull", "", "https", now=1.0) is None
    (d / "tokens.json").chmod(0o600)
    d.chmod(0o777)  # others may write to the directory: tokens neither read nor written
    assert cache.get("reg.example", "repository:a:pull", "", "https", now=1.0) is None
    cache.put("reg.example", "repository:c:pull", "", "https", "tok", expires=100.0, now=0.0)
    d.chmod(0o700)
    assert cache.get("reg.example", "repository:c:pull", "", "https", now=1.0) is None
    (d / "tokens.json").write_bytes(b"{not json")
    assert cache.get("reg.example", "repository:a:pull", "", "https", now=1.0) is None
