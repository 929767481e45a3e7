"""registry.blobs: streaming a blob (from an offset with Range), a small verified blob."""

from __future__ import annotations

import pytest

from geedocker.digest import Digest
from geedocker.errors import VerificationError
from tests.registry.conftest import MakeClient
from tests.registry.fakes import FakeRegistry, Fault


def test_blob_stream_and_range(fake: FakeRegistry, make_client: MakeClient) -> None:
    data = bytes(range(256)) * 100
    d = Digest.parse(fake.add_blob("r", data))
    c = make_client(fake)
    with c.open_blob("r", d) as s:
        assert s.length == len(data) and not s.resumed and s.offset == 0
        assert s.read(10) == data[:10]
        assert s.read() == data[10:]
    with c.open_blob("r", d, offset=1000) as s:
        assert s.resumed and s.offset == 1000 and s.length == len(data) - 1000
        assert s.read() == data[1000:]
    assert fake.requests[-1].headers["Range"] == "bytes=1000-"
    fake.support_range = False
    with c.open_blob("r", d, offset=1000) as s:
        assert not s.resumed and s.offset == 0
        assert s.read() == data
    with pytest.raises(VerificationError, match="beyond the end"):
        fake.support_range = True
        c.open_blob("r", d, offset=len(data))


def test_get_blob_bytes_verifies_and_caps(fake: FakeRegistry, make_client: MakeClient) -> None:
    data = b'{"architecture":"amd64"}'
    d = Digest.parse(fake.add_blob("r", data))
    c = make_client(fake)
    assert c.get_blob_bytes("r", d, 1000) == data
    with pytest.raises(VerificationError, match="limit"):
        c.get_blob_bytes("r", d, 5)
    fake.faults.append(Fault("GET", "/blobs/", "corrupt"))
    with pytest.raises(VerificationError, match="digest mismatch"):
        c.get_blob_bytes("r", d, 1000)
