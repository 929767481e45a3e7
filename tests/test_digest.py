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


@pytest.mark.parametrize("data", [b"", b"x", b"sha256:" + b"a" * 64 + b" sha256:" + b"b" * 64, bytes(range(256)) * 300])
def test_small_data_is_hashed_without_hashlib_to_the_same_digest(data: bytes) -> None:
    import hashlib

    from geedocker.digest import _small_sha256

    assert _small_sha256(data) == hashlib.sha256(data).hexdigest()


def test_chain_ids_of_a_run_load_no_openssl() -> None:
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[1] / "src")
    code = (f"import sys; sys.path.insert(0, {src!r})\n"
            "from geedocker.digest import Digest\n"
            "from geedocker.oci import chain_ids\n"
            "ids = chain_ids([Digest.of(b'a'), Digest.of(b'b'), Digest.of(b'c')])\n"
            "print(len(ids), 'hashlib' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout == "3 False\n", out.stderr
