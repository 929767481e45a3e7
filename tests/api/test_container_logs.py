"""``GET /containers/{id}/logs`` over a log rotated with ``--log-opt compress=true``: the rotated ``.gz`` files are
read oldest first, with ``tail``, ``since``/``until`` and ``follow`` (the HTTP layer served in-process)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.containers import logs
from geedocker.containers.options import RunOptions
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import ContainerStore
from geedocker.oci import ContainerConfig
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339
from tests.support.api_http import request, serving

N = 40


@pytest.fixture
def sock(tmp_path: Path) -> Iterator[str]:
    """The API on a store with an exited container ``lz`` whose log rotated into compressed files."""
    with serving(tmp_path) as path:
        store = ContainerStore(Layout(tmp_path / "root", tmp_path / "run"))

        def make(cid: str, name: str) -> ContainerRecord:
            return ContainerRecord(id=cid, name=name, image="x:1", image_id="sha256:" + "0" * 64,
                                   created=now_rfc3339(), args=("sh",), options=RunOptions(),
                                   image_config=ContainerConfig(cmd=("sh",)), lower_dirs=())  # fmt: skip

        c = store.create(make, "lz")
        w = logs.JsonLogWriter(store.log_path(c.id), max_size=300, max_files=3, compress=True)
        for i in range(N):
            w.write("stderr" if i % 2 else "stdout", f"line {i}\n".encode())
        w.close()
        assert sorted(p.name[64:] for p in store.log_path(c.id).parent.iterdir() if "-json.log" in p.name) == [
            "-json.log", "-json.log.1.gz", "-json.log.2.gz"]
        store.update_state(c.id, status=Status.EXITED, exit_code=0, started_at=now_rfc3339(),
                           finished_at=now_rfc3339())  # fmt: skip
        yield path


def _frames(body: bytes) -> list[str]:
    """The multiplexed stream's lines (stdout and stderr frames, in order)."""
    out = []
    while body:
        _, size = struct.unpack(">BxxxI", body[:8])
        out.append(body[8 : 8 + size].decode())
        body = body[8 + size :]
    return out


def _logs(sock: str, query: str) -> list[str]:
    status, _, body = request(sock, "GET", f"/containers/lz/logs?stdout=1&stderr=1&{query}")
    assert status == 200, body
    return _frames(body)


def test_the_api_reads_compressed_rotated_logs_in_order(sock: str) -> None:
    every = _logs(sock, "")
    assert every == [f"line {i}\n" for i in range(N - len(every), N)] and 10 < len(every) < N
    assert _logs(sock, "tail=3") == [f"line {i}\n" for i in range(N - 3, N)]
    assert _logs(sock, "since=1&until=4000000000") == every
    assert _logs(sock, "follow=1") == every  # exited: everything, then the end
