"""A build's scratch space: overlay mounts of stages and images, removed when the build ends.

``writable(lowers)`` mounts an overlay of a stage's layer dirs with a fresh upper dir, for COPY and ADD to
write into (the upper dir then becomes the step's layer); ``readonly(lowers)`` shows a stage's or an image's
merged tree for ``COPY --from`` and ``RUN --mount=type=bind,from=``. Everything lives under
``$ROOT/tmp/build-<pid>-<token>/``; ``close`` unmounts (lazily, so nothing blocks) and removes it, on
success and on failure alike. Stages built side by side share it: its counter and mount list are locked.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from geedocker.containers import rootfs
from geedocker.errors import GeeDockerError
from geedocker.runtime import syscalls
from geedocker.store.layout import Layout
from geedocker.trees import rmtree


class Workspace:
    def __init__(self, layout: Layout) -> None:
        layout.ensure()
        self.dir = layout.tmp / f"build-{os.getpid()}-{os.urandom(4).hex()}"
        self.dir.mkdir(mode=0o700)
        self.empty = self.dir / "empty"
        self.empty.mkdir()
        self.mounts: list[Path] = []
        self.n = 0
        self.lock = threading.Lock()

    def new_dir(self, what: str) -> Path:
        with self.lock:
            self.n += 1
            d = self.dir / f"{self.n}-{what}"
        d.mkdir(mode=0o700)
        return d

    def writable(self, lowers: Sequence[Path]) -> tuple[Path, Path]:
        """Mount an overlay of ``lowers`` (top first) with a new upper dir: (merged root, upper dir)."""
        d = self.new_dir("rw")
        merged = d / "merged"
        rootfs.mount_overlay(d, list(lowers) or [self.empty], merged)
        with self.lock:
            self.mounts.append(merged)
        return merged, d / "upper"

    def readonly(self, lowers: Sequence[Path]) -> Path:
        """A read-only view of the merged ``lowers`` (top first)."""
        d = self.new_dir("ro")
        merged = d / "merged"
        merged.mkdir()
        layers = [str(p) for p in lowers] or [str(self.empty)]
        if len(layers) == 1:
            layers.append(str(self.empty))  # overlayfs without an upper dir wants two lower dirs
        syscalls.mount("overlay", merged, "overlay", syscalls.MS_RDONLY, "lowerdir=" + ":".join(layers))
        with self.lock:
            self.mounts.append(merged)
        return merged

    def unmount(self, path: Path) -> None:
        rootfs.unmount(path)
        with self.lock:
            if path in self.mounts:
                self.mounts.remove(path)

    def close(self) -> None:
        for m in reversed(self.mounts):
            with contextlib.suppress(GeeDockerError, OSError):
                rootfs.unmount(m)
        self.mounts.clear()
        with contextlib.suppress(OSError):
            rmtree(self.dir)
