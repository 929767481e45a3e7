"""Seeding a new volume with what the image has at its mount point, as docker does the first time an empty volume
is mounted (``copyExistingContents``): files, directories, modes (setuid/setgid/sticky too), numeric owners,
mtimes, xattrs, hard links (kept as links), symlinks (copied, never followed), devices and FIFOs; then the mount
point's own owner and mode go onto the volume's root.

A direct copy rather than a tar through ``geedocker.archive``: both ends are local trees, and the source is
walked from directory fds with ``O_NOFOLLOW`` after its top was resolved inside the container's root
(``secure_join``), so no symlink in the image can make it read from the host. The destination is a fresh
volume no container has mounted yet.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from geedocker.errors import VolumeError
from geedocker.runtime.paths import secure_join

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SKIP_XATTRS = ("trusted.overlay.", "user.overlay.")


def copy_into_empty(root: Path, target: str, data: Path) -> bool:
    """Copy ``target`` (a path inside the container's ``root``) into the volume dir ``data`` if ``data`` is empty
    and ``target`` is a directory in the image. True if it copied."""
    try:
        if any(os.scandir(data)):
            return False
    except OSError as e:
        raise VolumeError(f"reading volume directory {data}: {e.strerror or e}") from e
    src = secure_join(str(root), target)
    try:
        sfd = os.open(src, _DIR)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return False  # nothing (or no directory) there in the image: the volume starts empty
        raise VolumeError(f"reading {target} in the container's root filesystem: {e.strerror or e}") from e
    try:
        dfd = os.open(data, _DIR)
        try:
            _Copier().tree(sfd, dfd)
            _meta(sfd, dfd, ".", os.fstat(sfd))
        finally:
            os.close(dfd)
    except OSError as e:
        raise VolumeError(f"copying {target} into the volume at {data}: {e.strerror or e}") from e
    finally:
        os.close(sfd)
    return True


class _Copier:
    def __init__(self) -> None:
        self.links: dict[tuple[int, int], tuple[int, str]] = {}  # (dev, ino) -> (dest dir fd dup, name)
        self.fds: list[int] = []

    def tree(self, sfd: int, dfd: int) -> None:
        try:
            self._dir(sfd, dfd)
        finally:
            for fd in self.fds:
                os.close(fd)

    def _dir(self, sfd: int, dfd: int) -> None:
        held: int | None = None
        with os.scandir(sfd) as it:
            entries = list(it)
        for e in entries:
            st = e.stat(follow_symlinks=False)
            name = e.name
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                os.mkdir(name, 0o700, dir_fd=dfd)
                csfd = os.open(name, _DIR, dir_fd=sfd)
                try:
                    cdfd = os.open(name, _DIR, dir_fd=dfd)
                    try:
                        self._dir(csfd, cdfd)
                        _meta(csfd, cdfd, ".", st)
                    finally:
                        os.close(cdfd)
                finally:
                    os.close(csfd)
                continue
            if st.st_nlink > 1 and not stat.S_ISDIR(mode):
                first = self.links.get((st.st_dev, st.st_ino))
                if first is not None:
                    os.link(first[1], name, src_dir_fd=first[0], dst_dir_fd=dfd, follow_symlinks=False)
                    continue
                if held is None:
                    held = os.dup(dfd)
                    self.fds.append(held)
                self.links[(st.st_dev, st.st_ino)] = (held, name)
            if stat.S_ISREG(mode):
                _copy_file(sfd, dfd, name)
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(name, dir_fd=sfd), name, dir_fd=dfd)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
                os.mknod(name, mode, st.st_rdev, dir_fd=dfd)
            else:
                continue  # sockets are not copied
            _meta(sfd, dfd, name, st)


def _copy_file(sfd: int, dfd: int, name: str) -> None:
    fi = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=sfd)
    try:
        fo = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd)
        try:
            size = os.fstat(fi).st_size
            done = 0
            while done < size:
                try:
                    n = os.copy_file_range(fi, fo, size - done)
                except OSError as e:
                    if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                        raise
                    n = os.sendfile(fo, fi, None, size - done)
                if n == 0:
                    break
                done += n
        finally:
            os.close(fo)
    finally:
        os.close(fi)


def _meta(sfd: int, dfd: int, name: str, st: os.stat_result) -> None:
    """Owner, xattrs, mode (after chown, which clears setuid), times of ``name`` (``"."``: the dir itself)."""
    link = stat.S_ISLNK(st.st_mode)
    spath = f"/proc/self/fd/{sfd}" + ("" if name == "." else f"/{name}")
    dpath = f"/proc/self/fd/{dfd}" + ("" if name == "." else f"/{name}")
    if os.geteuid() == 0:
        if name == ".":
            os.fchown(dfd, st.st_uid, st.st_gid)
        else:
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dfd, follow_symlinks=False)
    with contextlib.suppress(OSError):
        for key in os.listxattr(spath, follow_symlinks=False):
            if key.startswith(_SKIP_XATTRS):
                continue
            with contextlib.suppress(OSError):
                os.setxattr(dpath, key, os.getxattr(spath, key, follow_symlinks=False), follow_symlinks=False)
    if not link:
        if name == ".":
            os.fchmod(dfd, stat.S_IMODE(st.st_mode))
        else:
            os.chmod(name, stat.S_IMODE(st.st_mode), dir_fd=dfd)
    times = (st.st_atime_ns, st.st_mtime_ns)
    if name == ".":
        os.utime(dfd, ns=times)
    else:
        os.utime(name, ns=times, dir_fd=dfd, follow_symlinks=False)
