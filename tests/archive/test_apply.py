"""The layer applier: every entry type and attribute, whiteouts, the end of the stream, limits."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from geedocker.archive import ApplyResult, Limits, WhiteoutPolicy, apply_layer, flatten
from geedocker.archive.apply import Extract
from geedocker.errors import ArchiveError, LimitExceededError
from tests.support.layers import (
    Entry,
    directory,
    file,
    gzip_bytes,
    hardlink,
    layer_tar,
    opaque,
    symlink,
    whiteout,
    zstd_bytes,
)

APPLY = WhiteoutPolicy.APPLY
OVERLAY = WhiteoutPolicy.OVERLAY
NONE = WhiteoutPolicy.NONE
T0 = 1_600_000_000


def apply(dest: Path, entries: list[Entry] | bytes, policy: WhiteoutPolicy = APPLY, **kw: object) -> ApplyResult:
    data = entries if isinstance(entries, bytes) else layer_tar(entries)
    dest.mkdir(parents=True, exist_ok=True)
    return apply_layer(io.BytesIO(data), dest, policy, **kw)  # type: ignore[arg-type]


# -- files, directories, links ---------------------------------------------------------------------------


def test_regular_files_get_data_mode_and_mtime(tmp_path: Path) -> None:
    big = os.urandom(3 << 20)  # several 1 MiB chunks
    apply(tmp_path, [
        directory("etc", mtime=T0),
        file("etc/conf", "a=1\n", mode=0o640, mtime=T0 + 5),
        file("etc/big", big, mode=0o600),
        file("etc/empty", b"", mode=0o444),
    ])
    assert (tmp_path / "etc/conf").read_text() == "a=1\n"
    assert stat.S_IMODE(os.lstat(tmp_path / "etc/conf").st_mode) == 0o640
    assert os.lstat(tmp_path / "etc/conf").st_mtime == T0 + 5
    assert (tmp_path / "etc/big").read_bytes() == big
    assert (tmp_path / "etc/empty").read_bytes() == b""
    assert stat.S_IMODE(os.lstat(tmp_path / "etc/empty").st_mode) == 0o444


def test_special_mode_bits_are_kept(tmp_path: Path) -> None:
    apply(tmp_path, [
        file("suid", "x", mode=0o4755),
        file("sgid", "x", mode=0o2755),
        directory("sticky", mode=0o1777),
        directory("sgid-dir", mode=0o2775),
    ])
    assert stat.S_IMODE(os.lstat(tmp_path / "suid").st_mode) == 0o4755
    assert stat.S_IMODE(os.lstat(tmp_path / "sticky").st_mode) == 0o1777
    assert stat.S_IMODE(os.lstat(tmp_path / "sgid-dir").st_mode) == 0o2775
    if os.geteuid() == 0:  # a non-member group loses setgid for an unprivileged chmod
        assert stat.S_IMODE(os.lstat(tmp_path / "sgid").st_mode) == 0o2755


def test_directory_mtime_is_set_after_its_children(tmp_path: Path) -> None:
    apply(tmp_path, [
        directory("d", mtime=T0),
        directory("d/sub", mtime=T0 + 1),
        file("d/sub/f", "x", mtime=T0 + 2),
        file("d/g", "y", mtime=T0 + 3),
        symlink("d/l", "g", mtime=T0 + 4),
    ])
    assert os.lstat(tmp_path / "d").st_mtime == T0
    assert os.lstat(tmp_path / "d/sub").st_mtime == T0 + 1
    assert os.lstat(tmp_path / "d/l").st_mtime == T0 + 4


def test_read_only_directories_still_get_their_children(tmp_path: Path) -> None:
    apply(tmp_path, [directory("ro", mode=0o555), file("ro/f", "x", mode=0o444), directory("none", mode=0)])
    assert (tmp_path / "ro/f").read_text() == "x"
    assert stat.S_IMODE(os.lstat(tmp_path / "ro").st_mode) == 0o555
    assert stat.S_IMODE(os.lstat(tmp_path / "none").st_mode) == 0


def test_missing_parents_are_created_0755(tmp_path: Path) -> None:
    apply(tmp_path, [file("a/b/c/f", "x")])
    assert (tmp_path / "a/b/c/f").read_text() == "x"
    for d in ("a", "a/b", "a/b/c"):
        assert stat.S_IMODE(os.lstat(tmp_path / d).st_mode) == 0o755


def test_root_entry_sets_the_root_directory(tmp_path: Path) -> None:
    dest = tmp_path / "d"
    apply(dest, [directory("./", mode=0o750, mtime=T0), file("f", "x")])
    assert stat.S_IMODE(os.lstat(dest).st_mode) == 0o750
    assert os.lstat(dest).st_mtime == T0


def test_root_entry_may_not_be_a_file(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match=r"'\./'"):
        apply(tmp_path, [file("./", "x")])


def test_directory_over_directory_keeps_children_and_takes_new_attributes(tmp_path: Path) -> None:
    apply(tmp_path, [directory("d", mode=0o755), file("d/lower", "1")])
    apply(tmp_path, [directory("d", mode=0o700, mtime=T0 + 9)])
    assert (tmp_path / "d/lower").read_text() == "1"
    assert stat.S_IMODE(os.lstat(tmp_path / "d").st_mode) == 0o700
    assert os.lstat(tmp_path / "d").st_mtime == T0 + 9


def test_non_directory_and_directory_replace_each_other(tmp_path: Path) -> None:
    apply(tmp_path, [file("a", "file"), directory("b"), file("b/inner", "x"), symlink("c", "/nowhere")])
    apply(tmp_path, [directory("a"), file("a/x", "new"), file("b", "now a file"), directory("c")])
    assert (tmp_path / "a/x").read_text() == "new"
    assert (tmp_path / "b").read_text() == "now a file"
    assert stat.S_ISDIR(os.lstat(tmp_path / "c").st_mode)


def test_keep_kinds_refuses_a_directory_and_a_non_directory_replacing_each_other(tmp_path: Path) -> None:
    keep = Extract(keep_kinds=True)
    apply(tmp_path, [file("a", "file"), directory("b"), file("b/inner", "x")], NONE)
    with pytest.raises(ArchiveError, match="cannot overwrite directory 'b' with non-directory"):
        apply(tmp_path, [file("b", "now a file")], NONE, extract=keep)
    with pytest.raises(ArchiveError, match="cannot overwrite non-directory 'a' with directory"):
        apply(tmp_path, [directory("a")], NONE, extract=keep)
    apply(tmp_path, [file("a", "same kind"), directory("b"), file("b/inner", "y")], NONE, extract=keep)
    assert (tmp_path / "a").read_text() == "same kind" and (tmp_path / "b/inner").read_text() == "y"


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_extract_owner_owns_every_entry(tmp_path: Path) -> None:
    apply(tmp_path, [directory("d", uid=5, gid=6), file("d/f", "x", uid=7, gid=8), symlink("d/l", "f", uid=9)], NONE,
          extract=Extract(owner=(1234, 99)))  # fmt: skip
    for name in ("d", "d/f", "d/l"):
        st = os.lstat(tmp_path / name)
        assert (st.st_uid, st.st_gid) == (1234, 99), name


def test_duplicate_entries_later_wins(tmp_path: Path) -> None:
    apply(tmp_path, [
        file("f", "first", mode=0o600),
        file("f", "second", mode=0o644),
        symlink("s", "one"),
        symlink("s", "two"),
        file("x", "file"),
        directory("x"),
        file("x/y", "in dir"),
    ])
    assert (tmp_path / "f").read_text() == "second"
    assert stat.S_IMODE(os.lstat(tmp_path / "f").st_mode) == 0o644
    assert os.readlink(tmp_path / "s") == "two"
    assert (tmp_path / "x/y").read_text() == "in dir"


def test_symlinks_are_created_as_is(tmp_path: Path) -> None:
    apply(tmp_path, [symlink("abs", "/etc/shadow"), symlink("rel", "../../x"), symlink("dangling", "nope")])
    assert os.readlink(tmp_path / "abs") == "/etc/shadow"
    assert os.readlink(tmp_path / "rel") == "../../x"
    assert os.readlink(tmp_path / "dangling") == "nope"


def test_hard_links_across_directories(tmp_path: Path) -> None:
    apply(tmp_path, [
        directory("a"), directory("b"),
        file("a/f", "shared", mode=0o755),
        hardlink("b/g", "a/f"),
        hardlink("top", "./a/f"),
    ])
    st = os.lstat(tmp_path / "a/f")
    assert st.st_nlink == 3
    assert os.lstat(tmp_path / "b/g").st_ino == st.st_ino == os.lstat(tmp_path / "top").st_ino


def test_hard_link_to_a_later_or_missing_file_fails(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="'link'.*'target'"):
        apply(tmp_path, [hardlink("link", "target"), file("target", "x")])


def test_hard_link_replaces_an_existing_entry(tmp_path: Path) -> None:
    apply(tmp_path, [file("t", "target"), file("l", "old")])
    apply(tmp_path, [hardlink("l", "t")])
    assert os.lstat(tmp_path / "l").st_ino == os.lstat(tmp_path / "t").st_ino


def test_fifo(tmp_path: Path) -> None:
    apply(tmp_path, [Entry("p", tarfile.FIFOTYPE, mode=0o620, mtime=T0)])
    st = os.lstat(tmp_path / "p")
    assert stat.S_ISFIFO(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o620
    assert st.st_mtime == T0


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_long_and_utf8_names(tmp_path: Path, fmt: int) -> None:
    deep = "/".join(["d" * 100] * 5)
    name = f"{deep}/{'f' * 200}"
    apply(tmp_path, layer_tar([
        file(name, "deep"),
        file("héllo wörld ✓.txt", "utf8"),
        symlink("long-link", "t" * 300),
        hardlink("h", name),
    ], fmt=fmt))
    assert (tmp_path / name).read_text() == "deep"
    assert (tmp_path / "héllo wörld ✓.txt").read_text() == "utf8"
    assert os.readlink(tmp_path / "long-link") == "t" * 300
    assert os.lstat(tmp_path / "h").st_ino == os.lstat(tmp_path / name).st_ino


def test_user_xattrs_on_files_and_dirs(tmp_path: Path) -> None:
    apply(tmp_path, [
        directory("d", xattrs={"user.dir": "yes"}),
        file("d/f", "x", xattrs={"user.one": "1", "user.bin": "\x00\x01\x7f"}),
    ])
    assert os.getxattr(tmp_path / "d", "user.dir") == b"yes"
    assert os.getxattr(tmp_path / "d/f", "user.one") == b"1"
    assert os.getxattr(tmp_path / "d/f", "user.bin") == b"\x00\x01\x7f"


def test_overlay_xattrs_from_a_layer_are_ignored(tmp_path: Path) -> None:
    apply(tmp_path, [directory("d", xattrs={"user.overlay.opaque": "y", "user.ok": "1"})])
    assert os.getxattr(tmp_path / "d", "user.ok") == b"1"
    assert "user.overlay.opaque" not in os.listxattr(tmp_path / "d")


def test_sparse_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "sparse", "wb") as f:
        f.write(b"head")
        f.seek(5 << 20)
        f.write(b"tail")
    tar = subprocess.run(["tar", "--sparse", "--format=gnu", "-C", str(src), "-cf", "-", "sparse"],
                         capture_output=True, check=True).stdout
    dest = tmp_path / "dest"
    apply(dest, tar)
    assert (dest / "sparse").read_bytes() == (src / "sparse").read_bytes()


# -- root-only attributes -----------------------------------------------------------------------------------

CAP_NET_BIND = "\x01\x00\x00\x02\x00\x04\x00\x00" + "\x00" * 12  # vfs_cap_data v2: permitted = NET_BIND_SERVICE


@pytest.mark.root
def test_ownership_is_numeric_and_setuid_survives_chown(tmp_path: Path) -> None:
    apply(tmp_path, [
        directory("home", uid=1000, gid=1000),
        file("home/suid", "x", mode=0o6755, uid=1234, gid=5678),
        symlink("home/link", "suid", uid=42, gid=43),
        Entry("home/fifo", tarfile.FIFOTYPE, mode=0o600, uid=7, gid=8),
    ])
    st = os.lstat(tmp_path / "home/suid")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o6755)
    assert (os.lstat(tmp_path / "home").st_uid, os.lstat(tmp_path / "home").st_gid) == (1000, 1000)
    assert (os.lstat(tmp_path / "home/link").st_uid, os.lstat(tmp_path / "home/link").st_gid) == (42, 43)
    assert os.lstat(tmp_path / "home/fifo").st_uid == 7


@pytest.mark.root
def test_devices(tmp_path: Path) -> None:
    apply(tmp_path, [
        directory("dev"),
        Entry("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        Entry("dev/loop9", tarfile.BLKTYPE, mode=0o660, gid=6, devmajor=7, devminor=9),
    ])
    st = os.lstat(tmp_path / "dev/null")
    assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    assert stat.S_IMODE(st.st_mode) == 0o666
    st = os.lstat(tmp_path / "dev/loop9")
    assert stat.S_ISBLK(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (7, 9)
    assert st.st_gid == 6


@pytest.mark.root
def test_trusted_and_security_xattrs(tmp_path: Path) -> None:
    apply(tmp_path, [
        file("ping", "x", mode=0o755, xattrs={"security.capability": CAP_NET_BIND}),
        directory("d", xattrs={"trusted.mine": "v"}),
        symlink("l", "ping", xattrs={"trusted.link": "w"}),
    ])
    assert os.getxattr(tmp_path / "ping", "security.capability") == CAP_NET_BIND.encode()
    out = subprocess.run(["getcap", str(tmp_path / "ping")], capture_output=True, text=True)
    if out.returncode == 0 and out.stdout:
        assert "cap_net_bind_service" in out.stdout
    assert os.getxattr(tmp_path / "d", "trusted.mine") == b"v"
    assert os.getxattr(tmp_path / "l", "trusted.link", follow_symlinks=False) == b"w"


# -- whiteouts, APPLY -----------------------------------------------------------------------------------------


def test_whiteout_deletes_lower_file_and_directory(tmp_path: Path) -> None:
    flatten([io.BytesIO(layer_tar([directory("d"), file("d/f", "x"), directory("d/sub"), file("d/sub/g", "y")])),
             io.BytesIO(layer_tar([whiteout("d/f"), whiteout("d/sub"), whiteout("d/never-existed")]))], tmp_path)
    assert sorted(os.listdir(tmp_path / "d")) == []


def test_whiteout_spares_the_same_layers_entry_in_any_order(tmp_path: Path) -> None:
    apply(tmp_path, [file("before", "lower"), file("after", "lower")])
    apply(tmp_path, [file("before", "upper"), whiteout("before"), whiteout("after"), file("after", "upper")])
    assert (tmp_path / "before").read_text() == "upper"
    assert (tmp_path / "after").read_text() == "upper"


def test_whiteout_of_a_directory_this_layer_rewrote_hides_lower_children(tmp_path: Path) -> None:
    apply(tmp_path, [directory("d"), file("d/lower", "x")])
    apply(tmp_path, [directory("d"), file("d/upper", "y"), whiteout("d")])
    assert os.listdir(tmp_path / "d") == ["upper"]


def test_whited_out_then_re_added_in_a_later_layer_exists(tmp_path: Path) -> None:
    flatten([io.BytesIO(layer_tar([file("f", "1"), directory("d"), file("d/x", "1")])),
             io.BytesIO(layer_tar([whiteout("f"), whiteout("d")])),
             io.BytesIO(layer_tar([file("f", "3"), directory("d")]))], tmp_path)
    assert (tmp_path / "f").read_text() == "3"
    assert os.listdir(tmp_path / "d") == []


@pytest.mark.parametrize("marker_first", [True, False])
def test_opaque_removes_lower_content_but_keeps_this_layers(tmp_path: Path, marker_first: bool) -> None:
    apply(tmp_path, [directory("d"), file("d/lower", "x"), directory("d/sub"), file("d/sub/lower", "x"),
                     directory("d/gone"), file("d/gone/x", "x"), file("keep", "outside d")])
    upper = [directory("d"), file("d/new", "y"), directory("d/sub"), file("d/sub/new", "y"), file("d/a/b/c", "z")]
    apply(tmp_path, [opaque("d"), *upper] if marker_first else [*upper, opaque("d")])
    found = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "d").rglob("*"))
    assert found == ["d/a", "d/a/b", "d/a/b/c", "d/new", "d/sub", "d/sub/new"]
    assert (tmp_path / "keep").exists()


def test_opaque_marker_of_a_missing_directory_is_harmless(tmp_path: Path) -> None:
    apply(tmp_path, [file("x", "1")])
    apply(tmp_path, [opaque("no/such/dir"), whiteout("no/such/file")])
    assert not (tmp_path / "no").exists()
    assert (tmp_path / "x").exists()


def test_aufs_metadata_entries_are_ignored(tmp_path: Path) -> None:
    apply(tmp_path, [file(".wh..wh.plnk/123.456", "x"), file(".wh..wh.aufs", ""), file("f", "y")])
    assert sorted(os.listdir(tmp_path)) == ["f"]


# -- whiteouts, OVERLAY ---------------------------------------------------------------------------------------


@pytest.mark.root
def test_overlay_whiteouts_are_0_0_char_devices_and_opaque_is_an_xattr(tmp_path: Path) -> None:
    apply(tmp_path, [directory("d"), whiteout("d/gone"), opaque("o"), directory("o"), file("o/f", "x"),
                     file("kept", "mine"), whiteout("kept"), directory("w"), whiteout("w/x")], OVERLAY)
    st = os.lstat(tmp_path / "d/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0 and (st.st_uid, st.st_gid) == (0, 0)
    assert os.getxattr(tmp_path / "o", "trusted.overlay.opaque") == b"y"
    assert (tmp_path / "o/f").read_text() == "x"
    assert (tmp_path / "kept").read_text() == "mine"  # a whiteout hides lower layers only
    assert not (tmp_path / ".wh.kept").exists()
    assert stat.S_ISCHR(os.lstat(tmp_path / "w/x").st_mode)


@pytest.mark.root
def test_overlay_entry_after_its_whiteout_replaces_the_device(tmp_path: Path) -> None:
    apply(tmp_path, [whiteout("f"), file("f", "new"), whiteout("d"), directory("d")], OVERLAY)
    assert (tmp_path / "f").read_text() == "new"
    assert stat.S_ISDIR(os.lstat(tmp_path / "d").st_mode)
    # the directory replaced a whiteout: it must hide what lower layers had there
    assert os.getxattr(tmp_path / "d", "trusted.overlay.opaque") == b"y"


@pytest.mark.root
def test_overlay_root_opaque_marker(tmp_path: Path) -> None:
    dest = tmp_path / "d"
    apply(dest, [opaque("."), file("f", "x")], OVERLAY)
    assert os.getxattr(dest, "trusted.overlay.opaque") == b"y"


# -- the stream: digests, ends, limits ------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [lambda b: b, gzip_bytes, zstd_bytes])
def test_diff_id_is_the_digest_of_the_whole_uncompressed_stream(tmp_path: Path, compress) -> None:  # type: ignore[no-untyped-def]
    tar = layer_tar([directory("a"), file("a/b", os.urandom(5000)), symlink("c", "a/b")])
    assert len(tar) % 10240 == 0  # tarfile pads to a record: the diff_id covers the padding
    result = apply(tmp_path, compress(tar))
    assert result.diff_id.hex == hashlib.sha256(tar).hexdigest()
    assert result.size == len(tar)
    assert result.entries == 3


def test_empty_stream_is_an_empty_layer(tmp_path: Path) -> None:
    result = apply(tmp_path, b"")
    assert (result.size, result.entries) == (0, 0)
    assert result.diff_id.hex == hashlib.sha256(b"").hexdigest()
    result = apply(tmp_path, b"\0" * 1024)
    assert (result.size, result.entries) == (1024, 0)


def test_extra_zero_padding_is_hashed(tmp_path: Path) -> None:
    tar = layer_tar([file("f", "x")]) + b"\0" * 4096
    result = apply(tmp_path, tar)
    assert result.diff_id.hex == hashlib.sha256(tar).hexdigest()


def test_no_end_of_archive_marker_is_accepted(tmp_path: Path) -> None:
    tar = layer_tar([file("f", "x"), file("g", "y")])
    body = tar[: 4 * 512]  # two headers, two data blocks, no zero blocks
    result = apply(tmp_path, body)
    assert result.entries == 2
    assert (tmp_path / "g").read_text() == "y"


def test_trailing_garbage_is_refused(tmp_path: Path) -> None:
    tar = layer_tar([file("f", "x")])
    with pytest.raises(ArchiveError, match="non-zero data after the end-of-archive"):
        apply(tmp_path, tar + b"garbage")


def test_truncated_in_data_and_in_header(tmp_path: Path) -> None:
    tar = layer_tar([file("f", os.urandom(4000)), file("g", "y")])
    with pytest.raises(ArchiveError, match="'f'.*unexpected end"):
        apply(tmp_path / "1", tar[:1500])
    with pytest.raises(ArchiveError, match="truncated in the header after entry 'f'"):
        apply(tmp_path / "2", tar[: 512 + 4096 + 100])


def test_garbage_header_is_refused(tmp_path: Path) -> None:
    tar = layer_tar([file("f", "x")])
    bad = tar[:1024] + b"\x01" * 512 + b"\0" * 1024
    with pytest.raises(ArchiveError, match="invalid tar header after entry 'f'"):
        apply(tmp_path, bad)


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


def test_lower_directory_keeps_its_times_when_a_layer_changes_it_without_listing_it(tmp_path: Path) -> None:
    apply(tmp_path, [directory("d", mtime=T0), file("d/old", "x"), directory("e", mtime=T0), file("e/x", "y")])
    apply(tmp_path, [file("d/new", "y"), whiteout("e/x")])
    assert os.lstat(tmp_path / "d").st_mtime == T0
    assert os.lstat(tmp_path / "e").st_mtime == T0
    apply(tmp_path, [directory("d", mtime=T0 + 7), file("d/newer", "z")])
    assert os.lstat(tmp_path / "d").st_mtime == T0 + 7


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


def test_libarchive_xattrs(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo("f")
        ti.size = 1
        ti.pax_headers = {"LIBARCHIVE.xattr.user.with%20space": "dmFsdWU"}  # base64 "value", unpadded
        tf.addfile(ti, io.BytesIO(b"x"))
    apply(tmp_path, buf.getvalue())
    assert os.getxattr(tmp_path / "f", "user.with space") == b"value"


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
