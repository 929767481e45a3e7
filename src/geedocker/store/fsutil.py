"""Small filesystem helpers: atomic writes, fsync, file locks."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from geedocker.errors import DiskFullError, StoreError
from geedocker.trees import rmtree


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_file(directory: Path | str, prefix: str) -> tuple[int, str]:
    """A new, private (0600) file in ``directory``: an open fd and its path, as ``tempfile.mkstemp``
    (which is slow to import: the container start path avoids it)."""
    while True:
        tmp = os.path.join(directory, f"{prefix}{os.getpid()}.{os.urandom(6).hex()}")
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), tmp
        except FileExistsError:
            continue


def is_mountpoint(path: Path | str) -> bool:
    """Whether something is mounted on ``path`` (its real path is a mount point in /proc/self/mountinfo)."""
    target = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split(" ")
                if len(fields) > 4 and fields[4].replace("\\040", " ") == target:
                    return True
    except OSError:
        return False
    return False


def remove_tree(path: Path | str) -> None:
    """``shutil.rmtree(path, ignore_errors=True)`` without importing shutil (bz2, lzma, fnmatch): the one tree
    removal, ``archive.root.rmtree`` (directory fds, never follows a symlink), told to leave what it cannot
    remove; the caller checks."""
    rmtree(path, ignore_errors=True)


def atomic_write(path: Path, data: bytes, mode: int = 0o644, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory, fsync, rename (and fsync the directory).

    ``durable=False`` leaves out both fsyncs: the file is still replaced whole or not at all while the machine
    runs, but a power cut may lose it; for state that is remade or cleaned up anyway."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file(path.parent, f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)
    except OSError as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if e.errno == errno.ENOSPC:
            raise DiskFullError(f"no space left on device writing {path}") from e
        raise StoreError(f"writing {path}: {e.strerror}") from e
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def lock_dir(path: Path | str) -> int:
    """The directory ``path`` opened and exclusively flocked: no lock file to make (and to remove with it).
    Closing the fd releases the lock. FileNotFoundError or NotADirectoryError when it is not there."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def dir_lock(path: Path | str) -> Iterator[None]:
    """``lock_dir`` for the duration of the block."""
    fd = lock_dir(path)
    try:
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def file_lock(path: Path, shared: bool = False) -> Iterator[None]:
    """An flock on ``path`` (created if missing), released on exit, also if the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
