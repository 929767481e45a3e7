"""A container's files as tar streams: the daemon's side of ``docker cp`` (the Engine API's
``/containers/{id}/archive``: HEAD stats a path, GET archives it, PUT extracts a tar into a directory).

Each runs in a child with the container's filesystem assembled as ``cp`` does (``inrootfs.in_rootfs``: its overlay,
volumes and binds in a private mount namespace; a stopped container's too), and resolves paths inside it as
``cp`` does. docker's rules, from its daemon: a path is taken as absolute in the container; the stat and the
archive do not follow the last component (a symlink is itself), the extraction point does (a symlink to a
directory is that directory); the archive's entries are named after the path's last component (``dir/.``:
``./...``); an extraction keeps the archive's owners unless ``copy_uid_gid`` and the container has a user, who
then owns everything (docker's ``copyUIDGID``).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from geedocker.archive.root import Root
from geedocker.containers.copyerrors import CopyError, CopyPathNotFound, CopyReadOnly
from geedocker.containers.copytar import write_tar
from geedocker.containers.engine import Engine
from geedocker.containers.inrootfs import in_rootfs
from geedocker.containers.record import ContainerRecord
from geedocker.containers.rootpaths import dir_at, fd_path, lexical, lookup, lstat_at
from geedocker.containers.store import event
from geedocker.store.layout import Layout
from geedocker.values import value

READ_SIZE = 65536


@value
class PathStat:
    """What docker's ``X-Docker-Container-Path-Stat`` says of a path: ``mode`` is ``st_mode``; ``link_target``
    the symlink's target resolved in the container (absolute), empty for anything else."""

    name: str
    size: int
    mode: int
    mtime_ns: int
    link_target: str = ""

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "size": self.size, "mode": self.mode, "mtime_ns": self.mtime_ns,
                "link_target": self.link_target}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, object]) -> PathStat:
        return cls(str(d["name"]), int(str(d["size"])), int(str(d["mode"])), int(str(d["mtime_ns"])),
                   str(d.get("link_target", "")))  # fmt: skip


def _base(path: str) -> str:
    """docker's name for a path: the last component of its absolute form (``/`` for the root, ``.`` for
    ``dir/.``)."""
    absolute = "/" + path.lstrip("/")
    if absolute.endswith("/.") or absolute == "/.":
        return "."
    return os.path.basename(absolute.rstrip("/")) or "/"


def _stat(root: Root, ref: str, path: str) -> tuple[PathStat, int, str]:
    """The stat of ``path`` (not following its last component) and where it is (dir fd, name)."""
    found = lookup(root, path, False)
    if found is None:
        raise CopyPathNotFound(f"Could not find the file {path} in container {ref}")
    dfd, name, real = found
    st = lstat_at(dfd, name)
    if path.rstrip(".").endswith("/") and path.strip("/.") and not stat.S_ISDIR(st.st_mode):
        raise CopyError(f"{path}: not a directory")
    target = ""
    if stat.S_ISLNK(st.st_mode):
        followed = lookup(root, "/".join(real), True)
        if followed is not None:
            target = "/" + "/".join(followed[2])
        else:  # dangling: where it points, lexically, as docker's scoped resolution gives it
            link = os.readlink(fd_path(dfd, name))
            target = "/" + lexical(link if link.startswith("/") else "/".join((*real[:-1], link)))
    return PathStat(_base(path), st.st_size, st.st_mode, st.st_mtime_ns, target), dfd, name


def stat_path(layout: Layout, ref: str, path: str) -> PathStat:
    """HEAD: the stat of ``path`` in container ``ref``."""
    rec = Engine.of(layout).containers.resolve(ref)

    def work(root: Path) -> str:
        with Root(root) as r:
            return json.dumps(_stat(r, ref, path)[0].to_json())

    return PathStat.from_json(json.loads(in_rootfs(layout, rec, work)))


class ArchiveStream:
    """GET: ``stat``, then the tar as an iterator of chunks; ``close`` (also at the end, or by a server whose client
    went away before the first chunk) stops the child that writes it and waits for it."""

    def __init__(self, stat: PathStat, reader: BinaryIO, done: Callable[[], None]) -> None:
        self.stat = stat
        self._reader = reader
        self._done = done

    def __iter__(self) -> ArchiveStream:
        return self

    def __next__(self) -> bytes:
        chunk = self._reader.read(READ_SIZE) if not self._reader.closed else b""
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        if not self._reader.closed:
            self._reader.close()  # a child still writing gets EPIPE and ends
            self._done()


def open_archive(layout: Layout, ref: str, path: str) -> ArchiveStream:
    """GET: a tar of ``path`` in container ``ref`` with its stat; raises (before any byte) when the path is
    missing (``CopyPathNotFound``) or cannot be archived."""
    rec = Engine.of(layout).containers.resolve(ref)
    r, w = os.pipe()
    failure: list[BaseException] = []

    def work(root: Path) -> str:
        with Root(root) as rt, open(w, "wb") as out:
            st, dfd, name = _stat(rt, ref, path)
            out.write(json.dumps(st.to_json()).encode() + b"\n")  # the stat first, then the tar
            arcname = st.name  # docker's: "name/...", "./..." for "dir/.", and "/bin"... for "/"
            write_tar(out, dfd, name, arcname, False, None)
        return ""

    def run() -> None:
        try:
            in_rootfs(layout, rec, work, keep_fds=(w,), forked=lambda: os.close(w))
        except BaseException as e:  # handed to the request below, or logged at the end of the stream
            failure.append(e)

    t = threading.Thread(target=run, daemon=True, name="api-archive")
    t.start()
    reader = open(r, "rb")  # noqa: SIM115 - handed to the stream, closed by it
    head = reader.readline(1 << 20)
    if not head.endswith(b"\n"):
        reader.close()
        t.join()
        if failure:
            raise failure[0]
        raise CopyError(f"{path}: the archiving process ended without an answer")
    st = PathStat.from_json(json.loads(head))
    event(layout, rec, "archive-path")

    def done() -> None:
        t.join()

    return ArchiveStream(st, reader, done)


def extract(layout: Layout, ref: str, path: str, body: Iterator[bytes], *, keep_kinds: bool = False,
            copy_uid_gid: bool = False) -> None:  # fmt: skip
    """PUT: extract the tar read from ``body`` into directory ``path`` of container ``ref``."""
    from geedocker.archive.apply import apply_layer
    from geedocker.archive.options import Extract, WhiteoutPolicy

    rec = Engine.of(layout).containers.resolve(ref)
    r, w = os.pipe()

    def work(root: Path) -> str:
        with Root(root) as rt:
            target = lookup(rt, path, True)
            if target is None:
                raise CopyPathNotFound(f"Could not find the file {path} in container {ref}")
            if not dir_at(target[0], target[1]):
                raise CopyError("extraction point is not a directory")
            dest = fd_path(target[0], target[1])
            fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:  # the mount it is on: the rootfs (read-only for --read-only) or a volume's
                if os.fstatvfs(fd).f_flag & os.ST_RDONLY:
                    raise CopyReadOnly("container rootfs or volume is marked read-only")
            finally:
                os.close(fd)
            owner = _owner(root, rec) if copy_uid_gid else None
            with open(r, "rb") as f:
                apply_layer(f, Path(dest), WhiteoutPolicy.NONE, extract=Extract(keep_kinds=keep_kinds, owner=owner))
        return ""

    failure: list[BaseException] = []

    def run() -> None:
        try:
            in_rootfs(layout, rec, work, keep_fds=(r,), forked=lambda: os.close(r))
        except BaseException as e:  # raised below
            failure.append(e)

    t = threading.Thread(target=run, daemon=True, name="api-extract")
    t.start()
    try:
        with open(w, "wb") as out:
            for chunk in body:
                out.write(chunk)
    except BrokenPipeError:
        pass  # the child stopped reading: its error says why
    finally:
        t.join()
    if failure:
        raise failure[0]
    event(layout, rec, "extract-to-dir")


def _owner(root: Path, rec: ContainerRecord) -> tuple[int, int] | None:
    """The container's user (docker's ``Config.User``) as uid and gid, from its own passwd and group files."""
    spec = rec.options.user or rec.image_config.user
    if not spec:
        return None
    from geedocker.containers.users import resolve_user_in_rootfs

    u = resolve_user_in_rootfs(root, spec)
    return u.uid, u.gid

