"""Leave nothing of a test's store on the host, even when the test failed half way: its containers (their
processes, cgroups, network), every mount under its dirs, its firewall table, and the store itself."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

from geedocker.store.layout import Layout


def unmount_under(path: Path) -> None:
    """Unmount every mount at or below ``path`` (deepest first; lazily, so a busy one goes too)."""
    prefix = str(path).rstrip("/")
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for p in sorted({p for p in points if p == prefix or p.startswith(prefix + "/")}, key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True)


def clean_store(layout: Layout) -> None:
    """Remove what the store at ``layout`` holds, on the host and on disk (its images with it)."""
    from geedocker.containers.removal import remove
    from geedocker.containers.store import ContainerStore
    from tests.support.netenv import remove_store_firewall

    if layout.containers.is_dir():
        for cid in ContainerStore(layout).ids():
            with contextlib.suppress(Exception):  # a damaged or half-made one: its mounts still go below
                remove(layout, cid, force=True)
    unmount_under(layout.root)
    unmount_under(layout.run)
    remove_store_firewall(layout.root)
    shutil.rmtree(layout.root, ignore_errors=True)
    shutil.rmtree(layout.run, ignore_errors=True)
