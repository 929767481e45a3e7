import errno
import io
import os
import stat
import threading
from unittest import mock

import pytest

from geedocker.digest import Digest
from geedocker.errors import DiskFullError, VerificationError
from geedocker.store.blobs import BlobStore
from geedocker.store.layout import Layout


def test_put_bytes_is_idempotent_and_read_only(layout: Layout) -> None:
    store = BlobStore(layout)
    d = store.put_bytes(b"hello")
    assert d == Digest.of(b"hello")
    assert store.put_bytes(b"hello", d) == d
    p = store.path(d)
    assert p.read_bytes() == b"hello"
    assert stat.S_IMODE(p.stat().st_mode) == 0o444
    assert store.all() == [d]


def test_put_bytes_rejects_wrong_digest_and_keeps_nothing(layout: Layout) -> None:
    store = BlobStore(layout)
    with pytest.raises(VerificationError, match="mismatch"):
        store.put_bytes(b"evil", Digest.of(b"good"))
    assert store.all() == []
    assert list(layout.tmp.iterdir()) == []


def test_ingest_resumes_after_interruption(layout: Layout) -> None:
    store = BlobStore(layout)
    data = os.urandom(3 << 20)
    d = Digest.of(data)
    with store.ingest(d, len(data)) as ing:
        assert ing.open() == 0
        ing.write(data[:1000])
    # the process "dies": the partial data stays for the next pull
    with store.ingest(d, len(data)) as ing:
        assert ing.open() == 1000
        with ing.read_prefix() as f:
            assert f.read() == data[:1000]
        ing.write(data[1000:])
        ing.commit()
    assert store.path(d).read_bytes() == data
    assert not layout.ingest_dir(d).exists()


def test_ingest_reset_when_range_ignored(layout: Layout) -> None:
    store = BlobStore(layout)
    data = b"x" * 5000
    d = Digest.of(data)
    with store.ingest(d, len(data)) as ing:
        ing.open()
        ing.write(data[:10])
    with store.ingest(d, len(data)) as ing:
        assert ing.open() == 10
        ing.reset()
        ing.write(data)
        ing.commit()
    assert store.has(d)


def test_ingest_wrong_bytes_are_discarded(layout: Layout) -> None:
    store = BlobStore(layout)
    good = b"a" * 100
    d = Digest.of(good)
    with store.ingest(d, 100) as ing:
        ing.open()
        ing.write(b"b" * 100)
        with pytest.raises(VerificationError, match="mismatch"):
            ing.commit()
    assert not store.has(d)
    assert not layout.ingest_dir(d).exists()


def test_ingest_too_many_bytes_rejected(layout: Layout) -> None:
    store = BlobStore(layout)
    d = Digest.of(b"abc")
    with store.ingest(d, 3) as ing:
        ing.open()
        with pytest.raises(VerificationError, match="more data than the 3 bytes"):
            ing.write(b"abcd")
    assert not layout.ingest_dir(d).exists()


def test_ingest_truncated_rejected(layout: Layout) -> None:
    store = BlobStore(layout)
    d = Digest.of(b"abcdef")
    with store.ingest(d, 6) as ing:
        ing.open()
        ing.write(b"abc")
        with pytest.raises(VerificationError, match="got 3 bytes, expected 6"):
            ing.commit()
    assert not store.has(d)


def test_disk_full_removes_partial_file(layout: Layout) -> None:
    store = BlobStore(layout)
    d = Digest.of(b"z" * 10)
    with store.ingest(d, 10) as ing:
        ing.open()
        assert ing._f is not None
        with mock.patch.object(ing._f, "write", side_effect=OSError(errno.ENOSPC, "No space left on device")):
            with pytest.raises(DiskFullError, match="no space left"):
                ing.write(b"z" * 10)
    assert not layout.ingest_dir(d).exists()
    assert not store.has(d)


def test_concurrent_ingest_downloads_once(layout: Layout) -> None:
    store = BlobStore(layout)
    data = os.urandom(100_000)
    d = Digest.of(data)
    writes = []

    def worker() -> None:
        with store.ingest(d, len(data)) as ing:
            if ing.done:
                return
            ing.open()
            writes.append(1)
            ing.write(data)
            ing.commit()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(writes) == 1
    assert store.path(d).read_bytes() == data


def test_put_stream(layout: Layout) -> None:
    store = BlobStore(layout)
    data = os.urandom(2 << 20)
    d = Digest.of(data)
    store.put_stream(io.BytesIO(data), d, len(data))
    assert store.read_bytes(d) == data


def test_writer_commits_under_the_digest_of_what_was_written(layout: Layout) -> None:
    store = BlobStore(layout)
    with store.writer() as w:
        w.write(b"hello ")
        w.write(b"world")
    assert w.digest == Digest.of(b"hello world") and w.size == 11
    assert store.read_bytes(w.digest) == b"hello world"
    assert list(layout.tmp.iterdir()) == []


def test_writer_keeps_nothing_when_the_block_fails(layout: Layout) -> None:
    store = BlobStore(layout)
    with pytest.raises(RuntimeError):
        with store.writer() as w:
            w.write(b"half")
            raise RuntimeError("source broke")
    assert store.all() == []
    assert list(layout.tmp.iterdir()) == []


def test_sweep_ingest_removes_what_a_commit_killed_halfway_left_and_nothing_else(layout: Layout) -> None:
    store = BlobStore(layout)
    committed = store.put_bytes(b"committed")
    layout.ingest_dir(committed).mkdir(parents=True)  # killed after the rename, before the cleanup
    partial = Digest.of(b"partial download")
    with store.ingest(partial) as ing:
        ing.write(b"partial")  # killed mid-download: a later pull resumes it
    (layout.ingest / "not-a-digest").mkdir()
    assert store.sweep_ingest() == [committed]
    assert sorted(p.name for p in layout.ingest.iterdir()) == ["not-a-digest", f"sha256-{partial.hex}"]
    assert store.path(committed).read_bytes() == b"committed"
