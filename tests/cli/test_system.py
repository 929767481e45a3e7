"""``geedocker system boot`` sweeps what interrupted creates and removals left (unprivileged: nothing to start)."""

from __future__ import annotations

import os

from geedocker.store.layout import Layout
from tests.cli.test_bad_inputs import cli


def test_boot_sweeps_interrupted_creates_removals_and_stale_names(layout: Layout) -> None:
    containers = layout.containers
    for d in (".creating-" + "a" * 64, ".removing-" + "b" * 64):
        (containers / d / "rootfs").mkdir(parents=True)
        (containers / d / "container.json").write_text('{"id": "')
    (containers / ".names").mkdir()
    (containers / ".names" / "ghost").write_text("c" * 64)
    boot = cli(layout, "system", "boot")
    assert (boot.returncode, boot.stdout, boot.stderr) == (0, "", "")
    assert set(os.listdir(containers)) - {".index"} == {".names"} and os.listdir(containers / ".names") == []
