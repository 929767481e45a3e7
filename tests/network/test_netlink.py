"""geedocker.network.netlink: pinned network namespaces, made without a fork."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from geedocker.errors import NetworkError
from geedocker.network import netlink

pytestmark = pytest.mark.root


def _own_netns() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def test_create_netns_pins_a_new_namespace_with_loopback_up_and_leaves_ours(tmp_path: Path) -> None:
    path = tmp_path / "netns" / "c1"
    before = _own_netns()
    netlink.create_netns(path)
    try:
        assert _own_netns() == before  # the calling thread is back in its own namespace
        assert netlink.is_mountpoint(path)
        assert os.stat(path).st_ino != before
        out = subprocess.run(["nsenter", f"--net={path}", "ip", "-o", "link", "show"], capture_output=True,
                             text=True, check=True).stdout
        links = [line.split(":")[1].strip() for line in out.splitlines()]
        assert links == ["lo"]  # loopback only
        assert "UP" in out.split("<", 1)[1].split(">", 1)[0].split(",")
    finally:
        netlink.delete_netns(path)
    assert not path.exists()
    assert not netlink.is_mountpoint(path)


def test_create_netns_refuses_an_existing_path(tmp_path: Path) -> None:
    path = tmp_path / "c2"
    path.write_text("")
    before = _own_netns()
    with pytest.raises(NetworkError, match="already exists"):
        netlink.create_netns(path)
    assert _own_netns() == before
    assert path.exists() and not netlink.is_mountpoint(path)  # not ours: left alone


def test_create_netns_makes_missing_parents_and_refuses_a_file_as_parent(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises((NetworkError, NotADirectoryError, FileExistsError)):
        netlink.create_netns(blocker / "c3")  # the parent "directory" is a file
    before = _own_netns()
    missing = tmp_path / "nodir"
    netlink.create_netns(missing / "c4")  # the parent is created
    try:
        assert _own_netns() == before
    finally:
        netlink.delete_netns(missing / "c4")
