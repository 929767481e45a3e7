"""The overlay rootfs: layer order, the upper dir, and more layers than one page of mount options holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.containers import rootfs

pytestmark = pytest.mark.root


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Path]:
    t = tmp_path / "c" / "rootfs"
    t.parent.mkdir()
    yield t
    rootfs.unmount(t)


def test_overlay_order_and_upper(tmp_path: Path, target: Path) -> None:
    low, high = tmp_path / "low", tmp_path / "high"
    for d, text in ((low, "low"), (high, "high")):
        d.mkdir()
        (d / "same").write_text(text)
        (d / f"only-{text}").write_text(text)
    rootfs.mount_overlay(target.parent, [high, low], target)  # top first
    assert rootfs.is_mountpoint(target)
    assert (target / "same").read_text() == "high"
    assert (target / "only-low").exists() and (target / "only-high").exists()
    (target / "new").write_text("written")
    assert (target.parent / "upper" / "new").read_text() == "written"
    assert not (low / "new").exists() and not (high / "new").exists()
    rootfs.unmount(target)
    assert not rootfs.is_mountpoint(target)
    rootfs.unmount(target)  # unmounting twice is fine


def test_many_layers_with_long_paths(tmp_path: Path, target: Path) -> None:
    base = tmp_path / ("x" * 100)
    layers = []
    for i in range(60):
        d = base / f"{i:03d}{'y' * 100}" / "diff"
        d.mkdir(parents=True)
        (d / f"f{i}").write_text(str(i))
        (d / "top").write_text(str(i))
        layers.append(d)
    layers.reverse()  # top first: layer 59 is the top
    assert len(rootfs.overlay_options([str(p) for p in layers], "u", "w")) > 4096
    rootfs.mount_overlay(target.parent, layers, target)
    assert (target / "top").read_text() == "59"
    assert all((target / f"f{i}").read_text() == str(i) for i in range(60))
    assert (target.parent / "l").is_dir()


def test_volatile_option() -> None:
    assert rootfs.overlay_options(["a"], "u", "w", volatile=True).endswith(",volatile")
    assert "volatile" not in rootfs.overlay_options(["a"], "u", "w")
