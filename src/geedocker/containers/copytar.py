"""The tars ``cp`` and the archive endpoints write: a file or a directory tree read from directory fds (never
through a path a container could swap) into an ``archive.writer.TarWriter``, every entry owned by one user when
``cp`` runs without ``-a``, and a relative symlink that would point out of the extraction point refused as
docker's untar refuses it (``invalid symlink``).
"""

from __future__ import annotations

import os
import stat
import tarfile
from typing import BinaryIO

from geedocker.archive.writer import TarWriter, tar_stream
from geedocker.containers.copyerrors import CopyError
from geedocker.containers.rootpaths import fd_path, lstat_at

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Owned(TarWriter):
    """A TarWriter that gives every entry one owner (``cp`` without ``-a``)."""

    def __init__(self, tf: tarfile.TarFile, uid: int, gid: int) -> None:
        super().__init__(tf)
        self.uid, self.gid = uid, gid

    def _info(self, name: str, st: os.stat_result) -> tarfile.TarInfo:
        ti = super()._info(name, st)
        ti.uid, ti.gid = self.uid, self.gid
        return ti


def _pack(tw: TarWriter, dir_fd: int, name: str, arcname: str, contents_only: bool, into: str = "") -> None:
    """Add ``name`` in ``dir_fd`` (``"."``: the directory itself) as ``arcname``, a directory recursively.

    ``into``: where the tar is extracted; as docker's untar, a relative symlink that would point out of it is
    refused (``invalid symlink``)."""
    path = fd_path(dir_fd, name)
    st = lstat_at(dir_fd, name)
    if into and stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
        if not target.startswith("/") and os.path.normpath(os.path.join(os.path.dirname(arcname), target)).startswith(
            ".."
        ):
            raise CopyError(f'invalid symlink "{os.path.join(into, arcname)}" -> "{target}"')
    if not contents_only:
        tw.add(arcname, path, st)
    if not stat.S_ISDIR(st.st_mode):
        return
    fd = os.open(name, _DIR, dir_fd=dir_fd)  # not through ``path``: for "." it is a /proc symlink
    try:
        for child in sorted(os.listdir(fd)):
            _pack(tw, fd, child, child if contents_only else f"{arcname.rstrip('/')}/{child}", False, into)
    finally:
        os.close(fd)


def write_tar(
    out: BinaryIO,
    dir_fd: int,
    name: str,
    arcname: str,
    contents: bool,
    owner: tuple[int, int] | None,
    into: str = "",
) -> None:
    with tar_stream(out) as tw:
        if owner is not None:
            tw = _Owned(tw.tf, *owner)
        _pack(tw, dir_fd, name, arcname, contents, into)
