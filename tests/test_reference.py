import pytest

from geedocker import reference as refs
from geedocker.digest import Digest
from geedocker.errors import InvalidReference

HEX = "a" * 64


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag"),
    [
        ("busybox", "docker.io", "library/busybox", "latest"),
        ("busybox:1.36", "docker.io", "library/busybox", "1.36"),
        ("user/app", "docker.io", "user/app", "latest"),
        ("index.docker.io/library/alpine", "docker.io", "library/alpine", "latest"),
        ("127.0.0.1:5000/team/app:1.2", "127.0.0.1:5000", "team/app", "1.2"),
        ("localhost/app", "localhost", "app", "latest"),
        ("localhost:5000/a/b/c:v_1.0-rc", "localhost:5000", "a/b/c", "v_1.0-rc"),
        ("quay.io/org/img", "quay.io", "org/img", "latest"),
        ("[::1]:5000/app", "[::1]:5000", "app", "latest"),
    ],
)
def test_parse_defaults(text: str, domain: str, path: str, tag: str) -> None:
    r = refs.parse(text)
    assert (r.domain, r.path, r.tag, r.digest) == (domain, path, tag, None)


def test_digest_only_has_no_tag_and_is_the_identifier() -> None:
    r = refs.parse(f"app@sha256:{HEX}")
    assert r.tag is None
    assert r.digest == Digest("sha256", HEX)
    assert r.identifier == f"sha256:{HEX}"
    assert str(r) == f"docker.io/library/app@sha256:{HEX}"


def test_tag_and_digest_digest_wins() -> None:
    r = refs.parse(f"host:5000/app:1@sha256:{HEX}")
    assert r.tag == "1"
    assert r.identifier == f"sha256:{HEX}"


def test_familiar_and_registry_host() -> None:
    assert refs.parse("busybox").familiar() == "busybox:latest"
    assert refs.parse("busybox").registry_host == "registry-1.docker.io"
    assert refs.parse("localhost:5000/x:1").familiar() == "localhost:5000/x:1"
    assert refs.parse("localhost:5000/x:1").registry_host == "localhost:5000"


@pytest.mark.parametrize(
    "bad",
    ["", " busybox", "Busybox", "busybox:", "busybox:-bad", "a//b", "a/", "app@sha256:zz", "app@md5:" + "a" * 32,
     "-app", "app:" + "x" * 129, "upper/Case"],
)
def test_invalid_references(bad: str) -> None:
    with pytest.raises(InvalidReference) as e:
        refs.parse(bad)
    assert e.value.exit_code == 125
    assert "invalid reference format" in str(e.value)


def test_looks_like_id() -> None:
    assert refs.looks_like_id("abc123")
    assert refs.looks_like_id("sha256:" + HEX)
    assert not refs.looks_like_id("busybox")
    assert not refs.looks_like_id("a" * 65)
