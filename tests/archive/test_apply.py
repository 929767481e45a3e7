"""The layer applier (``archive.apply``): the root entry, digests, limits, ``flatten``, without root, bad input."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from geedocker.archive import Limits, apply_layer, flatten
from geedocker.archive.options import Extract
from geedocker.errors import ArchiveError, LimitExceededError
from tests.support.apply import APPLY, CAP_NET_BIND, NONE, T0, apply
from tests.support.layers import (
    Entry,
    directory,
    file,
    gzip_bytes,
    hardlink,
    layer_tar,
    symlink,
    whiteout,
    zstd_bytes,
)


def test_root_entry_sets_the_root_directory(tmp_path: Path) -> None:
    dest = tmp_path / "d"
    apply(dest, [directory("./", mode=0o750, mtime=T0), file("f", "x")])
    assert stat.S_IMODE(os.lstat(dest).st_mode) == 0o750
    assert os.lstat(dest).st_mtime == T0


def test_root_entry_may_not_be_a_file(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match=r"'\./'"):
        apply(tmp_path, [file("./", "x")])


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_extract_owner_owns_every_entry(tmp_path: Path) -> None:
    apply(tmp_path, [directory("d", uid=5, gid=6), file("d/f", "x", uid=7, gid=8), symlink("d/l", "f", uid=9)], NONE,
          extract=Extract(owner=(1234, 99)))  # fmt: skip
    for name in ("d", "d/f", "d/l"):
        st = os.lstat(tmp_path / name)
        assert (st.st_uid, st.st_gid) == (1234, 99), name


@pytest.mark.parametrize("compress", [lambda b: b, gzip_bytes, zstd_bytes])
def test_diff_id_is_the_digest_of_the_whole_uncompressed_stream(tmp_path: Path, compress) -> None:  # type: ignore[no-untyped-def]
    tar = layer_tar([directory("a"), file("a/b", os.urandom(5000)), symlink("c", "a/b")])
    assert len(tar) % 10240 == 0  # tarfile pads to a record: the diff_id covers the padding
    result = apply(tmp_path, compress(tar))
    assert result.diff_id.hex == hashlib.sha256(tar).hexdigest()
    assert result.size == len(tar)
    assert result.entries == 3


def test_entry_limit(tmp_path: Path) -> None:
    with pytest.raises(LimitExceededError, match="more than 3 entries.*'f3'"):
        apply(tmp_path, [file(f"f{i}", "x") for i in range(10)], limits=Limits(max_entries=3))


def test_byte_limit(tmp_path: Path) -> None:
    with pytest.raises(LimitExceededError):
        apply(tmp_path / "a", [file("big", b"\0" * (3 << 20))], limits=Limits(max_bytes=1 << 20))
    # a gzip bomb: tiny compressed, huge uncompressed
    bomb = gzip_bytes(layer_tar([file("zeros", b"\0" * (8 << 20))]))
    assert len(bomb) < 64 << 10
    with pytest.raises(LimitExceededError):
        apply(tmp_path / "b", bomb, limits=Limits(max_bytes=2 << 20))


def test_unsupported_entry_type(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="'odd'.*unsupported"):
        apply(tmp_path, [Entry("odd", b"V")])


def test_flatten_applies_layers_in_order(tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (blobs / "1").write_bytes(gzip_bytes(layer_tar([directory("etc"), file("etc/a", "1"), file("etc/b", "1")])))
    (blobs / "2").write_bytes(zstd_bytes(layer_tar([file("etc/a", "2"), whiteout("etc/b")])))
    results = flatten([blobs / "1", blobs / "2"], tmp_path / "rootfs")
    assert [r.entries for r in results] == [3, 2]
    assert sorted(os.listdir(tmp_path / "rootfs/etc")) == ["a"]
    assert (tmp_path / "rootfs/etc/a").read_text() == "2"


@pytest.mark.root
def test_unprivileged_apply(tmp_path: Path) -> None:
    """As an ordinary user: ownership and devices are skipped, read-only dirs still get filled,
    privileged xattrs are skipped, everything else is exact."""
    import isal.igzip  # noqa: F401 - imported before dropping privileges (/root is not readable then)

    dest = tmp_path / "dest"
    dest.mkdir()
    os.chown(dest, 65534, 65534)
    os.chmod(tmp_path, 0o755)
    tar = gzip_bytes(layer_tar([
        directory("ro", mode=0o555, uid=5), file("ro/f", "x", mode=0o4755, uid=7),
        directory("ro/none", mode=0), Entry("dev-null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        file("caps", "c", xattrs={"security.capability": CAP_NET_BIND, "user.ok": "1"}),
    ]))
    parent_dir = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs unprivileged in the child
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            apply_layer(io.BytesIO(tar), Path(f"/proc/self/fd/{parent_dir}/dest"), APPLY)
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(parent_dir)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    st = os.lstat(dest / "ro/f")
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (65534, 0o4755)
    assert (dest / "ro/f").read_text() == "x"
    assert stat.S_IMODE(os.lstat(dest / "ro").st_mode) == 0o555
    assert stat.S_IMODE(os.lstat(dest / "ro/none").st_mode) == 0
    assert not os.path.lexists(dest / "dev-null")
    assert os.getxattr(dest / "caps", "user.ok") == b"1"
    assert "security.capability" not in os.listxattr(dest / "caps")


def test_missing_destination(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="destination directory"):
        apply_layer(io.BytesIO(layer_tar([file("f", "x")])), tmp_path / "nope", APPLY)


@pytest.mark.parametrize("compress", [gzip_bytes, zstd_bytes])
def test_corrupt_compressed_layer(tmp_path: Path, compress) -> None:  # type: ignore[no-untyped-def]
    tar = layer_tar([file("f", os.urandom(200_000)), file("g", "y")])
    blob = compress(tar)
    with pytest.raises(ArchiveError, match="corrupt (gzip|zstd) stream"):
        apply(tmp_path / "cut", blob[: len(blob) // 2])
    # a flipped bit: the decoder notices (gzip's CRC), or the diff_id does (zstd without checksums)
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0xFF
    try:
        result = apply(tmp_path / "flipped", bytes(flipped))
    except ArchiveError:
        return
    assert result.diff_id.hex != hashlib.sha256(tar).hexdigest()


def test_very_deep_paths_do_not_exhaust_file_descriptors(tmp_path: Path) -> None:
    import resource

    deep = "/".join(["d"] * 2000)  # 3999 bytes: within PATH_MAX, deeper than the fd limit
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(512, hard), hard))
    try:
        apply(tmp_path, [file(f"{deep}/f", "bottom"), hardlink("top", f"{deep}/f"), file(f"{deep}/g", "again")])
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(1999):
            nxt = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        assert os.stat("d/f", dir_fd=fd).st_ino == os.lstat(tmp_path / "top").st_ino
        assert os.stat("d/g", dir_fd=fd).st_size == 5
    finally:
        os.close(fd)
        # pytest's own cleanup of old temp dirs recurses per level: do not leave 2000 levels behind
        from geedocker.trees import rmtree

        rmtree(tmp_path / "d")
