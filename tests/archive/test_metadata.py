"""Entry metadata (``archive.metadata``): xattrs from PAX records, directory modes and times set at the end."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.support.apply import CAP_NET_BIND, T0, apply
from tests.support.layers import (
    directory,
    file,
    symlink,
)


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


def test_libarchive_xattrs(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo("f")
        ti.size = 1
        ti.pax_headers = {"LIBARCHIVE.xattr.user.with%20space": "dmFsdWU"}  # base64 "value", unpadded
        tf.addfile(ti, io.BytesIO(b"x"))
    apply(tmp_path, buf.getvalue())
    assert os.getxattr(tmp_path / "f", "user.with space") == b"value"


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
