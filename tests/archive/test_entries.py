"""Writing each entry kind (``archive.entries``): files, directories, links, devices, FIFOs, their modes and owners."""

from __future__ import annotations

import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from geedocker.archive.options import Extract
from geedocker.errors import ArchiveError
from tests.support.apply import NONE, T0, apply
from tests.support.layers import (
    Entry,
    directory,
    file,
    hardlink,
    symlink,
)


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
