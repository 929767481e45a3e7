"""The container's root filesystem: an overlay of the image's layer dirs, mounted at the bundle's rootfs.

    lowerdir = the image's layers, top first; upperdir = containers/<id>/upper; workdir = .../work

mount(2) takes its options in one page (4096 bytes). With many layers the absolute paths do not fit,
so we make short symlinks ``l/0``, ``l/1``... in the container's dir and mount with paths relative
to it (the kernel resolves them against the caller's working directory), as docker's overlay2 does.
"""

from __future__ import annotations

import _thread  # not threading: this module is on the container start path
import contextlib
import errno
import os
from pathlib import Path

from geedocker.errors import ContainerError
from geedocker.logger import get_logger
from geedocker.runtime import syscalls
from geedocker.store.fsutil import is_mountpoint as is_mountpoint  # rootfs.is_mountpoint for its callers

log = get_logger(__name__)

PAGE_LIMIT = 4000  # leave room under the 4096-byte page for the rest of the options
_CWD = _thread.allocate_lock()  # the working directory is the process's: one relative mount at a time (builder threads)


def overlay_options(lower: list[str], upper: str, work: str, volatile: bool = False) -> str:
    return f"lowerdir={':'.join(lower)},upperdir={upper},workdir={work}" + (",volatile" if volatile else "")


def _escape(path: str) -> str:
    if any(c in path for c in ":,\\"):
        raise ContainerError(f"layer path {path!r} contains ':' ',' or '\\', which overlayfs cannot take")
    return path


def mount_overlay(container_dir: Path, lower_dirs: list[Path], target: Path, *, volatile: bool = False) -> None:
    """Mount the overlay for ``container_dir`` at ``target`` (creating upper/, work/ and target).

    ``volatile`` (for ``--rm`` containers, whose upper dir is thrown away) skips the sync of the
    upper filesystem that overlayfs otherwise does on unmount: that sync is most of the cost of
    tearing a container down on a busy disk.
    """
    upper = container_dir / "upper"
    work = container_dir / "work"
    for d in (upper, work, target):
        d.mkdir(mode=0o755, exist_ok=True)
    if not lower_dirs:
        raise ContainerError("an image needs at least one layer")
    lowers = [_escape(str(p)) for p in lower_dirs]
    opts = overlay_options(lowers, _escape(str(upper)), _escape(str(work)), volatile)
    cwd: Path | None = None
    if len(opts) > PAGE_LIMIT:
        links = container_dir / "l"
        links.mkdir(exist_ok=True)
        short = []
        for i, p in enumerate(lower_dirs):
            link = links / str(i)
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            link.symlink_to(p)
            short.append(f"l/{i}")
        opts = overlay_options(short, "upper", "work", volatile)
        cwd = container_dir
        if len(opts) > PAGE_LIMIT:
            raise ContainerError(f"too many layers ({len(lower_dirs)}) for one overlay mount")
    _mount("overlay", target, "overlay", opts, cwd)


def _mount(source: str, target: Path, fstype: str, data: str, cwd: Path | None) -> None:
    if cwd is None:
        try:
            syscalls.mount(source, target, fstype, 0, data)
        except OSError as e:
            raise ContainerError(f"mounting the container's root filesystem at {target}: {e.strerror or e}") from e
        return
    with _CWD:
        old = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.chdir(cwd)
            syscalls.mount(source, target, fstype, 0, data)
        except OSError as e:
            raise ContainerError(f"mounting the container's root filesystem at {target}: {e.strerror or e}") from e
        finally:
            os.fchdir(old)
            os.close(old)


def unmount(target: Path) -> None:
    """Unmount ``target`` if it is mounted (lazily, so a busy mount does not block removal)."""
    if not is_mountpoint(target):
        return
    try:
        syscalls.umount2(target, syscalls.MNT_DETACH)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOENT):
            raise ContainerError(f"unmounting {target}: {e.strerror or e}") from e
