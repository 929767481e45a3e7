from __future__ import annotations

import pytest

from geedocker.errors import AuthenticationError
from geedocker.registry.auth import (
    Challenge,
    Scope,
    merge_scopes,
    parse_challenges,
    parse_token_response,
    pick_challenge,
)
from geedocker.registry.credentials import Credentials
from tests.registry.conftest import MakeClient
from tests.registry.fakes import FakeRegistry


def test_parse_bearer_challenge() -> None:
    h = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
         'scope="repository:samalba/my-app:pull,push"')
    [c] = parse_challenges(h)
    assert c.scheme == "bearer"
    assert c.get("realm") == "https://auth.docker.io/token"
    assert c.get("service") == "registry.docker.io"
    assert c.get("scope") == "repository:samalba/my-app:pull,push"


def test_parse_multiple_challenges_and_quoting() -> None:
    h = 'Basic realm="a \\"quoted\\" realm", Bearer realm=https://t/x, error="insufficient_scope"'
    cs = parse_challenges(h)
    assert [c.scheme for c in cs] == ["basic", "bearer"]
    assert cs[0].get("realm") == 'a "quoted" realm'
    assert cs[1].get("realm") == "https://t/x"
    assert cs[1].get("error") == "insufficient_scope"
    assert pick_challenge(cs) == cs[1]


def test_parse_garbage_is_lenient() -> None:
    assert parse_challenges("") == []
    assert pick_challenge(parse_challenges('=x, "y", realm=z')) is None
    assert pick_challenge(parse_challenges("Negotiate")) is None
    assert parse_challenges("BASIC")[0] == Challenge("basic", {})


def test_scopes() -> None:
    s = Scope.parse("repository:library/busybox:push,pull")
    assert s == Scope.push("library/busybox")
    assert str(s) == "repository:library/busybox:pull,push"
    assert s.covers(Scope.pull("library/busybox"))
    assert not Scope.pull("library/busybox").covers(s)
    assert not s.covers(Scope.pull("other"))
    # a host:port in the name does not confuse the split on the last colon
    assert Scope.parse("repository:a/b:pull").name == "a/b"
    merged = merge_scopes([Scope.pull("a"), Scope.push("a"), Scope.pull("b")])
    assert merged == (Scope.push("a"), Scope.pull("b"))


def test_token_response_variants() -> None:
    t = parse_token_response(b'{"access_token":"abc","expires_in":300}', 1000.0, (), "r")
    assert t.value == "abc" and t.expires_at == pytest.approx(1000 + 300 - 10)
    t = parse_token_response(b'{"token":"xyz"}', 0.0, (), "r")
    assert t.value == "xyz" and t.expires_at == pytest.approx(60 - 6)
    for bad in (b"not json", b"[]", b'{"token":""}', b'{"expires_in":3}'):
        with pytest.raises(AuthenticationError):
            parse_token_response(bad, 0.0, (), "r")


def test_anonymous_bearer_flow(make_client: MakeClient) -> None:
    fake = FakeRegistry(auth="bearer")
    d = fake.add_blob("library/busybox", b"hello")
    c = make_client(fake)
    assert c.blob_exists("library/busybox", __import__("geedocker.digest").digest.Digest.parse(d)) == 5
    token_reqs = [r for r in fake.requests if r.url.startswith("https://auth.fake/token")]
    assert len(token_reqs) == 1
    assert "scope=repository%3Alibrary%2Fbusybox%3Apull" in token_reqs[0].url
    assert "service=fake-service" in token_reqs[0].url
    assert "Authorization" not in token_reqs[0].headers
    # the token is cached for the scope: a second request does not ask again
    c.blob_exists("library/busybox", __import__("geedocker.digest").digest.Digest.parse(d))
    assert fake.count("GET", "/token") == 1


def test_bearer_with_credentials_and_wrong_password(make_client: MakeClient) -> None:
    fake = FakeRegistry(auth="bearer", users={"alice": "pw"})
    fake.add_manifest("team/app", "v1", b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
                      b'"config":{},"layers":[]}', "application/vnd.oci.image.manifest.v1+json")
    good = make_client(fake, Credentials("alice", "pw"))
    assert good.get_manifest("team/app", "v1").media_type.endswith("manifest.v1+json")
    tok = [r for r in fake.requests if "auth.fake" in r.url][-1]
    assert tok.headers["Authorization"].startswith("Basic ")
    bad = make_client(fake, Credentials("alice", "nope"))
    with pytest.raises(AuthenticationError, match="refused user 'alice'"):
        bad.get_manifest("team/app", "v1")


def test_token_refresh_on_expiry_by_clock(make_client: MakeClient) -> None:
    fake = FakeRegistry(auth="bearer", token_ttl=100)
    d = fake.add_blob("r", b"x")
    c = make_client(fake)
    now = [1000.0]
    c.auth._clock = lambda: now[0]
    from geedocker.digest import Digest

    c.blob_exists("r", Digest.parse(d))
    c.blob_exists("r", Digest.parse(d))
    assert c.auth.token_requests == 1
    now[0] += 95  # past expires_in minus the 10 s margin
    c.blob_exists("r", Digest.parse(d))
    assert c.auth.token_requests == 2
    # the registry never saw an expired token (no 401 after the first contact)
    assert [r for r in fake.requests if "/blobs/" in r.url and "Authorization" in r.headers]


def test_token_refresh_on_401_with_revoked_token(make_client: MakeClient) -> None:
    fake = FakeRegistry(auth="bearer")
    d = fake.add_blob("r", b"x")
    from geedocker.digest import Digest

    c = make_client(fake)
    c.blob_exists("r", Digest.parse(d))
    fake.expire_all_tokens()
    assert c.blob_exists("r", Digest.parse(d)) == 1
    assert c.auth.token_requests == 2


def test_new_scope_gets_new_token_push_needs_pull_push(make_client: MakeClient) -> None:
    import io

    from geedocker.digest import Digest

    fake = FakeRegistry(auth="bearer", users={"bob": "s"})
    d = fake.add_blob("src/repo", b"shared")
    c = make_client(fake, Credentials("bob", "s"))
    c.blob_exists("src/repo", Digest.parse(d))
    assert c.auth.token_requests == 1
    c.upload_blob("dst/repo", Digest.parse(d), 6, io.BytesIO(b"shared"), mount_from="src/repo")
    token_urls = [r.url for r in fake.requests if "auth.fake" in r.url]
    assert len(token_urls) == 2
    assert "repository%3Adst%2Frepo%3Apull%2Cpush" in token_urls[1]
    assert "repository%3Asrc%2Frepo%3Apull" in token_urls[1]
    assert d in fake.repo_blobs["dst/repo"]
    # mounted: no upload session was needed
    assert fake.count("PUT", "/blobs/uploads/") == 0


def test_anonymous_push_is_refused_clearly(make_client: MakeClient) -> None:
    import io

    from geedocker.digest import Digest

    fake = FakeRegistry(auth="bearer")
    c = make_client(fake)
    data = b"layer"
    with pytest.raises(AuthenticationError, match="access denied.*authentication.*geedocker login reg.fake"):
        c.upload_blob("team/app", Digest.of(data), len(data), io.BytesIO(data))


def test_basic_auth(make_client: MakeClient) -> None:
    from geedocker.digest import Digest

    fake = FakeRegistry(auth="basic", users={"u": "p"})
    d = fake.add_blob("r", b"abc")
    c = make_client(fake, Credentials("u", "p"))
    assert c.blob_exists("r", Digest.parse(d)) == 3
    assert fake.count("GET", "auth.fake") == 0
    assert fake.requests[-1].headers["Authorization"] == "Basic dTpw"
    with pytest.raises(AuthenticationError, match="credentials for user 'u' were refused"):
        make_client(fake, Credentials("u", "wrong")).blob_exists("r", Digest.parse(d))
    with pytest.raises(AuthenticationError, match="authentication required"):
        make_client(fake).ping()


def test_challenge_parser_never_crashes() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet='Bearer Basic realm=",\\ \t scope:/x', max_size=80))
    def check(header: str) -> None:
        for c in parse_challenges(header):
            assert c.scheme and " " not in c.scheme and "=" not in c.scheme
            assert all(k == k.lower() for k in c.params)

    check()


def test_user_without_access_to_a_repository(make_client: MakeClient) -> None:
    fake = FakeRegistry(auth="bearer", users={"carol": "pw"})
    c = make_client(fake, Credentials("carol", "pw"))
    fake.anonymous_pull = False
    real_token = fake._token

    def stingy(url: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
        resp = real_token(url, headers)
        for tok in fake.tokens:  # grant nothing, as a token server does for a repository the user may not see
            fake.tokens[tok] = (set(), True)
        return resp

    fake._token = stingy  # type: ignore[method-assign]
    with pytest.raises(AuthenticationError, match="access denied for user 'carol'.*may not access it"):
        c.get_manifest("someone/else", "v1")
