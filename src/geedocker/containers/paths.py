"""Resolve a path inside a container's root filesystem without ever leaving it.

Symlinks are followed as the kernel would inside a chroot: absolute targets restart at the root and
``..`` never climbs above it. Used for reading /etc/passwd and creating the working directory in an
image we do not trust.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from geedocker.errors import ContainerError
from geedocker.runtime.paths import secure_join as _secure_join


def secure_join(root: Path, path: str) -> Path:
    """``root`` joined with ``path``, every symlink in it resolved inside ``root`` (see runtime.paths).

    Missing trailing components are kept as they are (the result may not exist yet).
    """
    return Path(_secure_join(str(root), path))


def read_file_in_root(root: Path, path: str, limit: int = 4 * 1024 * 1024) -> bytes | None:
    """The bytes of ``path`` inside ``root`` (None if it does not exist), at most ``limit`` bytes."""
    real = secure_join(root, path)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return None
        raise ContainerError(f"reading {path} in the container's root filesystem: {e.strerror}") from e
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ContainerError(f"{path} in the container's root filesystem is larger than {limit} bytes")
    return data


def mkdir_in_root(root: Path, path: str, uid: int = 0, gid: int = 0) -> Path:
    """Create directory ``path`` (and its parents) inside ``root``; new directories get uid:gid."""
    real = secure_join(root, path)
    missing: list[Path] = []
    p = real
    while not p.exists() and p != root:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o755)
        except FileExistsError:
            pass
        except OSError as e:
            raise ContainerError(f"creating {path} in the container's root filesystem: {e.strerror}") from e
        if os.geteuid() == 0:
            os.lchown(d, uid, gid)
    if not real.is_dir():
        raise ContainerError(f"{path} in the container's root filesystem is not a directory")
    return real
