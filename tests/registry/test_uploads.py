"""registry.uploads: monolithic and chunked uploads, verification of the stream, cross-repository mounts."""

from __future__ import annotations

import io

import pytest

from geedocker.digest import Digest
from geedocker.errors import VerificationError
from tests.registry.conftest import MakeClient
from tests.registry.fakes import FakeRegistry


def test_upload_monolithic_and_chunked(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake, chunk_size=1000)
    small = b"s" * 500
    c.upload_blob("r", Digest.of(small), len(small), io.BytesIO(small))
    assert fake.blobs[str(Digest.of(small))] == small
    assert fake.count("PATCH", "/uploads/") == 0
    big = bytes(range(256)) * 10  # 2560 bytes: 3 PATCHes
    c.upload_blob("r", Digest.of(big), len(big), io.BytesIO(big))
    assert fake.blobs[str(Digest.of(big))] == big
    patches = [r for r in fake.requests if r.method == "PATCH"]
    assert [r.headers["Content-Range"] for r in patches] == ["0-999", "1000-1999", "2000-2559"]
    # already there: only a HEAD
    n = len(fake.requests)
    c.upload_blob("r", Digest.of(big), len(big), io.BytesIO(big))
    assert [r.method for r in fake.requests[n:]] == ["HEAD"]


def test_upload_verifies_stream(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake, chunk_size=1000)
    for data in (b"x" * 10, b"y" * 3000):
        with pytest.raises(VerificationError):
            c.upload_blob("r", Digest.of(b"other"), len(data), io.BytesIO(data))
    assert fake.uploads == {}  # both sessions cancelled
    assert fake.count("DELETE", "/uploads/") == 2


def test_mount_refused_falls_back_to_upload(fake: FakeRegistry, make_client: MakeClient) -> None:
    c = make_client(fake)
    data = b"not in the source repo"
    c.upload_blob("dst", Digest.of(data), len(data), io.BytesIO(data), mount_from="src")
    assert fake.blobs[str(Digest.of(data))] == data and str(Digest.of(data)) in fake.repo_blobs["dst"]
    posts = [r.url for r in fake.requests if r.method == "POST"]
    assert len(posts) == 1 and "mount=" in posts[0] and "from=src" in posts[0]
