"""The layer store: unpack once, verify the diff_id, atomic and idempotent, concurrent, crash-safe, removable."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import stat
import time
from pathlib import Path

import pytest

from geedocker.digest import Digest
from geedocker.errors import ArchiveError, VerificationError
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout
from geedocker.trees import rmtree
from tests.support.layers import directory, file, gzip_bytes, layer_tar, symlink, whiteout

TAR = layer_tar([directory("etc"), file("etc/hosts", "127.0.0.1 localhost\n"), symlink("etc/link", "hosts"),
                 directory("ro", mode=0o555), file("ro/f", "x", mode=0o400), directory("locked", mode=0)])
DIFF_ID = Digest("sha256", hashlib.sha256(TAR).hexdigest())
CHAIN = DIFF_ID  # the bottom layer's chain id is its diff_id


class Slow(io.RawIOBase):
    """Hands out ``data`` in small pieces with a pause; touches ``marker`` on the first read."""

    def __init__(self, data: bytes, marker: Path | None = None, delay: float = 0.02) -> None:
        self._data, self._marker, self._delay = data, marker, delay

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._marker is not None:
            self._marker.touch()
        time.sleep(self._delay)
        n = 4096 if n < 0 else min(n, 4096)
        out, self._data = self._data[:n], self._data[n:]
        return out


def temps(layout: Layout) -> list[str]:
    return [n for n in os.listdir(layout.layers) if n.startswith(".tmp-")]


def test_unpack_from_path_and_metadata(layout: Layout, tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(gzip_bytes(TAR))
    store = LayerStore(layout)
    assert not store.has(CHAIN)
    diff = store.unpack(CHAIN, DIFF_ID, blob)
    assert diff == store.diff_path(CHAIN) == layout.layer_diff(CHAIN)
    assert store.has(CHAIN)
    assert (diff / "etc/hosts").read_text() == "127.0.0.1 localhost\n"
    assert os.readlink(diff / "etc/link") == "hosts"
    assert store.size(CHAIN) == len(TAR)
    assert store.diff_id(CHAIN) == DIFF_ID
    meta = json.loads((layout.layer_dir(CHAIN) / "meta.json").read_text())
    assert meta["diff_id"] == str(DIFF_ID) and meta["size"] == len(TAR)
    assert temps(layout) == []


def test_unpack_is_idempotent(layout: Layout) -> None:
    store = LayerStore(layout)
    first = store.unpack(CHAIN, DIFF_ID, io.BytesIO(TAR))
    (first / "marker").write_text("same dir")
    # already there: the stream is not even read (garbage would fail)
    again = store.unpack(CHAIN, DIFF_ID, io.BytesIO(b"garbage"))
    assert again == first
    assert (again / "marker").read_text() == "same dir"


def test_diff_id_mismatch_leaves_nothing(layout: Layout) -> None:
    store = LayerStore(layout)
    wrong = Digest.of(b"something else")
    with pytest.raises(VerificationError, match=str(wrong)):
        store.unpack(CHAIN, wrong, io.BytesIO(TAR))
    assert not store.has(CHAIN)
    assert not layout.layer_dir(CHAIN).exists()
    assert temps(layout) == []


def test_a_bad_layer_leaves_nothing(layout: Layout) -> None:
    store = LayerStore(layout)
    with pytest.raises(ArchiveError, match="'../x'"):
        store.unpack(CHAIN, DIFF_ID, io.BytesIO(layer_tar([file("ok", "1"), file("../x", "2")])))
    assert not layout.layer_dir(CHAIN).exists()
    assert temps(layout) == []


@pytest.mark.root
def test_overlay_whiteouts_in_the_store(layout: Layout) -> None:
    tar = layer_tar([whiteout("etc/gone"), file("etc/new", "n")])
    diff_id = Digest("sha256", hashlib.sha256(tar).hexdigest())
    diff = LayerStore(layout).unpack(Digest.of(b"chain"), diff_id, io.BytesIO(tar))
    assert stat.S_ISCHR(os.lstat(diff / "etc/gone").st_mode)


def _unpack_in_child(layout: Layout, marker: Path, result: Path) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            path = LayerStore(layout).unpack(CHAIN, DIFF_ID, Slow(TAR, marker))
            result.write_text(str(path))
            code = 0
        finally:
            os._exit(code)
    return pid


def test_two_processes_unpack_the_same_layer_once(layout: Layout, tmp_path: Path) -> None:
    pids = [_unpack_in_child(layout, tmp_path / f"read{i}", tmp_path / f"result{i}") for i in range(2)]
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert (tmp_path / "result0").read_text() == (tmp_path / "result1").read_text() == str(layout.layer_diff(CHAIN))
    # exactly one of them read its stream (the other found the layer done once it had the lock)
    assert sorted(p.name for p in tmp_path.glob("read*")) in (["read0"], ["read1"])
    assert (layout.layer_diff(CHAIN) / "etc/hosts").exists()
    assert temps(layout) == []


def test_a_crash_mid_unpack_leaves_no_layer_and_the_next_unpack_cleans_up(layout: Layout, tmp_path: Path) -> None:
    store = LayerStore(layout)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child is killed mid-way
        try:
            store.unpack(CHAIN, DIFF_ID, Slow(TAR, delay=0.5))
        finally:
            os._exit(3)
    deadline = time.monotonic() + 10
    while not temps(layout) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert temps(layout), "the child should have started writing a temp dir"
    assert not store.has(CHAIN)
    # a crashed unpack of another layer (its pid is gone too) is swept as well
    other = layout.layers / f".tmp-{'0' * 64}-{pid}-dead"
    (other / "diff").mkdir(parents=True)
    store.unpack(CHAIN, DIFF_ID, io.BytesIO(TAR))
    assert store.has(CHAIN)
    assert temps(layout) == []


def test_remove_handles_odd_modes(layout: Layout) -> None:
    store = LayerStore(layout)
    diff = store.unpack(CHAIN, DIFF_ID, io.BytesIO(TAR))
    assert stat.S_IMODE(os.lstat(diff / "locked").st_mode) == 0
    assert store.chain_ids() == [CHAIN]
    assert store.remove(CHAIN) is True
    assert store.chain_ids() == []
    assert not layout.layer_dir(CHAIN).exists()
    assert not store.has(CHAIN)
    assert store.remove(CHAIN) is False
    assert temps(layout) == []


@pytest.mark.root
def test_rmtree_as_an_unprivileged_owner_of_read_only_dirs(tmp_path: Path) -> None:
    # the unprivileged child cannot traverse pytest's 0700 temp root: open the parent first, pass the fd
    top = tmp_path / "t"
    for d in ("t", "t/ro", "t/ro/deeper", "t/zero"):
        (tmp_path / d).mkdir()
    (top / "ro/deeper/f").write_text("x")
    (top / "ro/l").symlink_to("/etc/passwd")
    for dirpath, dirnames, filenames in os.walk(top):
        for n in [dirpath, *(os.path.join(dirpath, x) for x in dirnames + filenames)]:
            os.lchown(n, 65534, 65534)
    os.chmod(top / "ro/deeper", 0o555)
    os.chmod(top / "ro", 0o500)
    os.chmod(top / "zero", 0)
    os.chown(tmp_path, 65534, 65534)
    parent = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs unprivileged in the child
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            rmtree(Path(f"/proc/self/fd/{parent}/t"))
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(parent)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not top.exists()
    assert os.path.exists("/etc/passwd")
