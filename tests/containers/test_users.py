"""User resolution against a rootfs's /etc/passwd and /etc/group (no root needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geedocker.containers.users import ProcessUser, resolve_user_in_rootfs
from geedocker.errors import ContainerError


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n# comment\nbroken line\n"
        "svc:x:1001:2000::/srv:/bin/false\n"
    )
    (tmp_path / "etc/group").write_text("root:x:0:\napp:x:1000:\nextra:x:2000:app,svc\nwheel:x:10:app\n")
    return tmp_path


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("", ProcessUser(0, 0, (0,), "/root", "root")),
        ("root", ProcessUser(0, 0, (0,), "/root", "root")),
        ("app", ProcessUser(1000, 1000, (10, 1000, 2000), "/home/app", "app")),
        ("1000", ProcessUser(1000, 1000, (10, 1000, 2000), "/home/app", "app")),
        ("app:extra", ProcessUser(1000, 2000, (2000,), "/home/app", "app")),
        ("app:0", ProcessUser(1000, 0, (0,), "/home/app", "app")),
        ("4242", ProcessUser(4242, 0, (0,), "/", "")),
        ("4242:4343", ProcessUser(4242, 4343, (4343,), "/", "")),
        ("svc", ProcessUser(1001, 2000, (2000,), "/srv", "svc")),
    ],
)
def test_resolve(rootfs: Path, spec: str, want: ProcessUser) -> None:
    assert resolve_user_in_rootfs(rootfs, spec) == want


def test_unknown_names_are_errors(rootfs: Path) -> None:
    with pytest.raises(ContainerError, match="unable to find user nobody"):
        resolve_user_in_rootfs(rootfs, "nobody")
    with pytest.raises(ContainerError, match="unable to find group nogroup"):
        resolve_user_in_rootfs(rootfs, "app:nogroup")


def test_missing_files_allow_numeric_ids(tmp_path: Path) -> None:
    assert resolve_user_in_rootfs(tmp_path, "7:8") == ProcessUser(7, 8, (8,), "/", "")
    with pytest.raises(ContainerError):
        resolve_user_in_rootfs(tmp_path, "app")


def test_symlinked_passwd_stays_inside_the_rootfs(tmp_path: Path) -> None:
    """/etc/passwd -> /etc/real-passwd must resolve to <root>/etc/real-passwd, never the host's file."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/real-passwd").write_text("inside:x:77:77::/in:/bin/sh\n")
    os.symlink("/etc/real-passwd", tmp_path / "etc/passwd")
    assert resolve_user_in_rootfs(tmp_path, "inside").uid == 77
    # a link climbing out with .. is clamped at the root as well
    os.unlink(tmp_path / "etc/passwd")
    os.symlink("../../../../../etc/real-passwd", tmp_path / "etc/passwd")
    assert resolve_user_in_rootfs(tmp_path, "inside").uid == 77
    with pytest.raises(ContainerError):
        resolve_user_in_rootfs(tmp_path, "root")  # the host's root entry is not visible


def test_group_add(rootfs: Path) -> None:
    from geedocker.containers.users import resolve_groups_in_rootfs

    assert resolve_groups_in_rootfs(rootfs, ["extra", "4242", "wheel"]) == (2000, 4242, 10)
    with pytest.raises(ContainerError, match="unable to find group nope"):
        resolve_groups_in_rootfs(rootfs, ["nope"])
