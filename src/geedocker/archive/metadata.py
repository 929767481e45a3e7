"""An entry's metadata as a layer gives it: times, xattrs, and directory modes and times set at the end.

Times are nanoseconds (an ``atime`` PAX record, else the mtime); xattrs come from PAX ``SCHILY.xattr.*``
and ``LIBARCHIVE.xattr.*`` records, and those that would steer overlayfs itself are never set. Directory
modes and times wait until every entry is written, then are set deepest first (children change their
parents' mtimes; a read-only directory must still take its children). Owners and modes of the other
kinds are set by each entry writer (``entries``), in the order its kind needs (chown before chmod).
"""

from __future__ import annotations

import base64
import errno
import os
import stat
import tarfile
import urllib.parse

from geedocker.archive.root import Parts, Root, set_xattr_at
from geedocker.errors import ArchiveError
from geedocker.logger import get_logger

log = get_logger(__name__)

# xattrs a layer may not set: they would steer overlayfs itself (redirects, metacopy, opaque)
_FORBIDDEN_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")


def ns(t: float | int) -> int:
    """Seconds (a header's int or a PAX record's float) in nanoseconds."""
    return int(t) * 1_000_000_000 if isinstance(t, int) else int(round(t * 1_000_000_000))


def umask() -> int:
    """The process umask, read without changing it (``os.umask`` would, racing other threads)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o777  # unknown: always chmod


def pax_xattrs(member: tarfile.TarInfo) -> list[tuple[str, bytes]]:
    """The xattrs in an entry's PAX records (SCHILY: the value as text; LIBARCHIVE: URL-quoted name, base64 value)."""
    out: list[tuple[str, bytes]] = []
    for key, text in member.pax_headers.items():
        if key.startswith("SCHILY.xattr."):
            out.append((key[len("SCHILY.xattr.") :], text.encode("utf-8", "surrogateescape")))
        elif key.startswith("LIBARCHIVE.xattr."):
            name = urllib.parse.unquote(key[len("LIBARCHIVE.xattr.") :])
            try:
                out.append((name, base64.b64decode(text + "=" * (-len(text) % 4))))
            except ValueError as e:
                raise ArchiveError(f"entry {member.name!r}: bad base64 in xattr {name!r}") from e
    return out


def entry_atime(m: tarfile.TarInfo, mtime: int) -> int:
    """The atime a PAX record gives, else the mtime (nanoseconds)."""
    a = m.pax_headers.get("atime")
    if a is None:
        return mtime
    try:
        return ns(float(a))
    except ValueError:
        return mtime


def set_entry_xattr(m: tarfile.TarInfo, target: int | tuple[int, str], key: str, value: bytes) -> None:
    """Set an xattr on an open file, or on (dir fd, name) without following a final symlink."""
    if key.startswith(_FORBIDDEN_XATTR_PREFIXES):
        log.warning("entry %s: ignoring xattr %s (reserved for overlayfs)", m.name, key)
        return
    try:
        if isinstance(target, int):
            os.setxattr(target, key, value)
        else:
            set_xattr_at(target[0], target[1], key, value)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.EACCES):
            # the filesystem lacks xattrs, or we lack the privilege (a user namespace, not root)
            log.debug("entry %s: xattr %s not set: %s", m.name, key, e.strerror)
            return
        raise ArchiveError(f"entry {m.name!r}: setting xattr {key!r}: {e.strerror}") from e


def finish_dirs(root: Root, dir_meta: dict[Parts, tuple[int | None, int | None, int | None]]) -> None:
    """Set directory modes and times, deepest first (children changed their parents' mtimes)."""
    for real in sorted(dir_meta, key=len, reverse=True):
        mode, atime, mtime = dir_meta[real]
        if real:
            found = root.walk(real[:-1], False, "/".join(real))
            if found is None:
                continue
            pfd, name = found[0], real[-1]
        else:
            pfd, name = root.fd, "."
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        if mode is not None:
            os.chmod(name, mode, dir_fd=pfd)
        if mtime is not None and atime is not None:
            os.utime(name, ns=(atime, mtime), dir_fd=pfd, follow_symlinks=False)
        root.release()
