from __future__ import annotations

import hashlib

import pytest

from geedocker.digest import Digest, DigestingReader
from geedocker.errors import TransportError, VerificationError
from geedocker.registry.resume import ResumingBlobReader
from tests.registry.conftest import MakeClient
from tests.registry.fakes import FakeRegistry, Fault

DATA = hashlib.sha256(b"seed").digest() * 4000  # 128000 bytes


def _read_all(r: ResumingBlobReader, n: int = 7000) -> bytes:
    out = bytearray()
    while chunk := r.read(n):
        out += chunk
    return bytes(out)


def test_resumes_with_range_after_break(fake: FakeRegistry, make_client: MakeClient) -> None:
    d = Digest.parse(fake.add_blob("r", DATA))
    fake.faults.append(Fault("GET", "/blobs/", "break", break_after=50000, times=2))
    c = make_client(fake)
    with ResumingBlobReader(c, "r", d, size=len(DATA)) as r:
        dr = DigestingReader(r)
        assert _read_all(dr) == DATA  # type: ignore[arg-type]
        dr.verify(d, len(DATA))
        assert r.resumes == 2 and r.restarts == 0
    ranges = [x.headers.get("Range") for x in fake.requests if "/blobs/" in x.url]
    assert ranges == [None, "bytes=50000-", "bytes=100000-"]


def test_range_ignored_skips_what_was_delivered(fake: FakeRegistry, make_client: MakeClient) -> None:
    d = Digest.parse(fake.add_blob("r", DATA))
    fake.faults.append(Fault("GET", "/blobs/", "break", break_after=30000))
    fake.support_range = False
    c = make_client(fake)
    r = ResumingBlobReader(c, "r", d, size=len(DATA))
    assert _read_all(r) == DATA
    assert r.resumes == 1 and r.restarts == 1


def test_short_body_without_error_is_resumed_when_size_known(fake: FakeRegistry, make_client: MakeClient) -> None:
    d = Digest.parse(fake.add_blob("r", DATA))
    c = make_client(fake)
    real_open = c.open_blob
    calls = []

    def short_open(repo: str, digest: Digest, offset: int = 0):  # type: ignore[no-untyped-def]
        s = real_open(repo, digest, offset)
        calls.append(offset)
        if len(calls) == 1:
            s._resp._body._buf.truncate(1000)  # type: ignore[attr-defined]
        return s

    c.open_blob = short_open  # type: ignore[method-assign]
    assert _read_all(ResumingBlobReader(c, "r", d, size=len(DATA))) == DATA
    assert calls == [0, 1000]


def test_gives_up_after_max_resumes(fake: FakeRegistry, make_client: MakeClient) -> None:
    d = Digest.parse(fake.add_blob("r", DATA))
    fake.faults.append(Fault("GET", "/blobs/", "break", break_after=10, times=100))
    r = ResumingBlobReader(make_client(fake), "r", d, max_resumes=3)
    with pytest.raises(TransportError, match="after 3 resumes"):
        _read_all(r)


def test_start_offset_and_overlong_body(fake: FakeRegistry, make_client: MakeClient) -> None:
    d = Digest.parse(fake.add_blob("r", DATA))
    c = make_client(fake)
    assert ResumingBlobReader(c, "r", d, offset=500).read() == DATA[500:]
    with pytest.raises(VerificationError, match="more than the expected 100 bytes"):
        _read_all(ResumingBlobReader(c, "r", d, size=100))
