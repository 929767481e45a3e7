"""COPY and ADD onto a stage's mounted root: docker's destination rules, owners, modes, links, archives.

Destination rules (the Dockerfile reference): a destination ending in ``/``, or one that is a directory
already, or several sources, make a directory that each source goes into; a directory source copies its
*contents*; a single file to a destination without ``/`` is that file. A relative destination is under the
working directory. New directories are made 0755, owned by the ``--chown`` user (root without it).

What is copied keeps its mode (unless ``--chmod``), mtime, xattrs, symlinks (not followed below the named
source), hard links within the copy, devices and FIFOs; owners become root (or ``--chown``) for context
files and stay as they were for ``--from`` sources. Every write resolves its parent inside the root, as in
a chroot, and never follows a symlink at the last component.

ADD of a local tar archive (plain, gzip, bzip2, xz or zstd) extracts it into the destination through
``geedocker.archive``'s safe unpacker, the one pulls use, so entries that try to leave are refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from geedocker.archive.writer import file_xattrs
from geedocker.build.context import Source, SourceError, Tree
from geedocker.build.dockerignore import Ignore
from geedocker.containers.paths import secure_join
from geedocker.errors import GeeDockerError, UsageError
from geedocker.values import value


@value
class CopySpec:
    owner: tuple[int, int] | None = None  # --chown, resolved
    chmod: int | None = None
    keep_owners: bool = False  # --from: owners stay as they are
    parents: bool = False
    excludes: Ignore | None = None


class Copier:
    def __init__(self, root: Path, spec: CopySpec) -> None:
        self.root = root
        self.spec = spec
        self.links: dict[tuple[int, int], Path] = {}
        self.dir_times: list[tuple[Path, os.stat_result]] = []

    def _ids(self, st: os.stat_result) -> tuple[int, int]:
        if self.spec.owner is not None:
            return self.spec.owner
        return (st.st_uid, st.st_gid) if self.spec.keep_owners else (0, 0)

    def mkdirs(self, path: str) -> Path:
        """Make directory ``path`` (absolute in the root) and its missing parents; its host path."""
        real = secure_join(self.root, path)
        missing = []
        p = real
        while not os.path.lexists(p) and p != self.root:
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            os.mkdir(d, 0o755)
            os.chmod(d, 0o755)
            uid, gid = self.spec.owner or (0, 0)
            os.lchown(d, uid, gid)
        if not real.is_dir():
            raise UsageError(f"cannot copy to {path}: not a directory")
        return real

    def copy(self, tree: Tree, sources: list[Source], dest: str, workdir: str, add_archives: bool = False) -> None:
        dest_abs = dest if dest.startswith("/") else os.path.join(workdir or "/", dest)
        existing = secure_join(self.root, dest_abs)
        as_dir = dest.endswith("/") or dest.endswith("/.") or dest in (".", "") or existing.is_dir()
        if len(sources) > 1 and not as_dir:
            raise UsageError("When using COPY with more than one source file, the destination must be a "
                             "directory and end with a /")
        for src in sources:
            if add_archives and src.path.is_file() and _is_archive(src.path):
                self.extract(src.path, self.mkdirs(dest_abs))
                continue
            target_dir = dest_abs
            if self.spec.parents and src.rel:
                parent = os.path.dirname(src.rel)
                target_dir = os.path.join(dest_abs, parent) if parent else dest_abs
            st = os.stat(src.path) if src.path.is_dir() else os.lstat(src.path)
            if stat.S_ISDIR(st.st_mode):
                parents = self.spec.parents and src.rel
                sub = os.path.join(target_dir, os.path.basename(src.rel)) if parents else target_dir
                top = self.mkdirs(sub)
                for name, path, est in tree.walk(src, self.spec.excludes):
                    if name:
                        self.put(top, name, path, est)
                continue
            if as_dir or self.spec.parents:
                d = self.mkdirs(target_dir)
                self.put(d, os.path.basename(src.rel) or src.path.name, src.path, st)
            else:
                d = self.mkdirs(os.path.dirname(dest_abs.rstrip("/")) or "/")
                self.put(d, os.path.basename(dest_abs.rstrip("/")), src.path, st)
        self.finish()

    def write_file(self, dest: str, workdir: str, name: str, data: bytes) -> None:
        """A heredoc source: ``data`` as ``dest`` (or ``dest/name`` for a directory destination)."""
        dest_abs = dest if dest.startswith("/") else os.path.join(workdir or "/", dest)
        if dest.endswith("/") or secure_join(self.root, dest_abs).is_dir():
            d, base = self.mkdirs(dest_abs), name
        else:
            d, base = self.mkdirs(os.path.dirname(dest_abs) or "/"), os.path.basename(dest_abs)
        target = d / base
        self._clear(target)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        uid, gid = self.spec.owner or (0, 0)
        os.lchown(target, uid, gid)
        os.chmod(target, self.spec.chmod if self.spec.chmod is not None else 0o644)

    @staticmethod
    def _clear(target: Path) -> None:
        if os.path.lexists(target) and not (target.is_dir() and not target.is_symlink()):
            os.unlink(target)

    def put(self, parent: Path, name: str, src: Path, st: os.stat_result) -> None:
        """Copy one object to ``parent/name`` (``name`` may have directories in it, made before)."""
        d, _, base = name.rpartition("/")
        pdir = secure_join(self.root, str(parent.relative_to(self.root)) + "/" + d) if d else parent
        target = pdir / base
        mode = st.st_mode
        uid, gid = self._ids(st)
        perm = stat.S_IMODE(mode) if self.spec.chmod is None else self.spec.chmod
        if stat.S_ISDIR(mode):
            if not (target.is_dir() and not target.is_symlink()):
                self._clear(target)
                os.mkdir(target, 0o700)
            os.lchown(target, uid, gid)
            os.chmod(target, perm)
            self._xattrs(src, target)
            self.dir_times.append((target, st))
            return
        self._clear(target)
        if stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            first = self.links.get(key) if st.st_nlink > 1 else None
            if first is not None:
                os.link(first, target)
                return
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                with open(src, "rb") as f:
                    while chunk := f.read(1 << 20):
                        os.write(fd, chunk)
            finally:
                os.close(fd)
            if st.st_nlink > 1:
                self.links[key] = target
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(src), target)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
            os.mknod(target, stat.S_IFMT(mode) | 0o600, st.st_rdev)
        else:
            return  # sockets are not copied
        os.lchown(target, uid, gid)
        if not stat.S_ISLNK(mode):
            os.chmod(target, perm)
            self._xattrs(src, target)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

    @staticmethod
    def _xattrs(src: Path, target: Path) -> None:
        for k, v in file_xattrs(src).items():
            try:
                os.setxattr(target, k, v, follow_symlinks=False)
            except OSError:
                continue  # a filesystem or namespace that does not take it

    def finish(self) -> None:
        for target, st in reversed(self.dir_times):
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
        self.dir_times.clear()

    def extract(self, archive: Path, dest: Path) -> None:
        from geedocker.archive.apply import apply_layer
        from geedocker.archive.options import WhiteoutPolicy

        with _open_archive(archive) as f:
            apply_layer(f, dest, WhiteoutPolicy.APPLY)


_MAGIC = {b"\x1f\x8b": "gz", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zst"}


def _kind(head: bytes) -> str:
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return ""


def _open_archive(path: Path):  # type: ignore[no-untyped-def]
    """The archive's decompressed stream (gzip and zstd are left to ``apply_layer``'s own detection)."""
    f = open(path, "rb")
    kind = _kind(f.read(8))
    f.seek(0)
    if kind == "bz2":
        import bz2

        return bz2.BZ2File(f)
    if kind == "xz":
        import lzma

        return lzma.LZMAFile(f)
    return f


def _is_archive(path: Path) -> bool:
    """A tar, possibly compressed: what ADD extracts (anything else is copied as a file)."""
    try:
        with _open_archive(path) as f:
            if _kind(f.read(8)) in ("gz", "zst"):
                f.seek(0)
                from geedocker.archive.compression import open_decompressed

                _, plain = open_decompressed(f)
                head = plain.read(512)
            else:
                f.seek(0)
                head = f.read(512)
    except (OSError, EOFError, ValueError, GeeDockerError):  # bz2 raises OSError, lzma LZMAError (below)
        return False
    except Exception as e:
        if type(e).__name__ == "LZMAError":
            return False
        raise
    return len(head) == 512 and head[257:262] == b"ustar"


def resolve_sources(tree: Tree, args: list[str]) -> list[Source]:
    out: list[Source] = []
    for a in args:
        found = tree.match(a)
        if not found:
            raise SourceError(f"COPY failed: no source files were specified matching {a}")
        out.extend(found)
    return out
