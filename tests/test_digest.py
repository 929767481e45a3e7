import io

import pytest

from geedocker.digest import Digest, DigestingReader
from geedocker.errors import DigestError, VerificationError

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_parse_and_str_roundtrip() -> None:
    d = Digest.parse(f"sha256:{EMPTY}")
    assert str(d) == f"sha256:{EMPTY}"
    assert d.short == EMPTY[:12]
    assert Digest.of(b"") == d


@pytest.mark.parametrize("bad", ["sha256", f"sha256:{EMPTY[:-1]}", f"sha256:{EMPTY.upper()}", f"md5:{EMPTY}", ""])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(DigestError):
        Digest.parse(bad)


def test_digesting_reader_counts_and_verifies() -> None:
    r = DigestingReader(io.BytesIO(b"hello world"))
    assert r.read(5) == b"hello"
    assert r.read() == b" world"
    assert r.count == 11
    r.verify(Digest.of(b"hello world"), 11)
    with pytest.raises(VerificationError, match="size 11 bytes, expected 12"):
        r.verify(Digest.of(b"hello world"), 12)
    with pytest.raises(VerificationError, match="digest mismatch"):
        r.verify(Digest.of(b"other"))
