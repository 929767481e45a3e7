"""``cp``: files between a container and the host, with docker's rules.

The copy runs in a forked child with the container's filesystem assembled in a private mount namespace, as
dockerd does for ``docker cp`` (``containers.inrootfs``), so the container's paths resolve as the container sees
them. Every container path is resolved inside that root filesystem (``containers.rootpaths``: symlinks resolve
as in a chroot, a link to ``/`` or ``../..`` stays inside), and what goes into the container is written by the
safe unpacker (``apply_layer``, no whiteouts). What comes out is a tar (``containers.copytar``) read from
directory fds, never through a path a container could swap.

docker's rules (its documented table): a file goes into an existing directory under its name, or replaces an
existing file, or becomes DEST when DEST is missing (``DEST/`` missing is an error); a directory becomes DEST
when DEST is missing, goes into an existing directory under its name, or, as ``SRC/.``, puts its content there;
a directory onto a file is an error. Without ``-a`` what is copied is owned by the receiving side's user (root
in the container, the invoking user on the host); with ``-a`` it keeps its source's uid/gid.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from geedocker.archive.apply import apply_layer
from geedocker.archive.options import WhiteoutPolicy
from geedocker.archive.root import Root, clean_parts
from geedocker.containers.copyerrors import CopyError, CopyPathNotFound
from geedocker.containers.copytar import write_tar
from geedocker.containers.engine import Engine
from geedocker.containers.inrootfs import in_rootfs
from geedocker.containers.rootpaths import dir_at, fd_path, lookup
from geedocker.containers.store import event
from geedocker.errors import UsageError
from geedocker.store.layout import Layout
from geedocker.values import value


@value
class Endpoint:
    """One side of ``cp``: ``container`` empty for a host path (``-``: a tar stream on stdin/stdout)."""

    container: str
    path: str


def parse_endpoint(text: str) -> Endpoint:
    """``CONTAINER:PATH`` or a host path (one with a ``/`` before any ``:`` is a host path, as docker's)."""
    if text == "-":
        return Endpoint("", "-")
    head, colon, rest = text.partition(":")
    if not colon or "/" in head or not head:
        return Endpoint("", text)
    return Endpoint(head, rest or "/")


def _resolve(root: Root, path: str, follow: bool) -> tuple[int, str] | None:
    """(dir fd, name) of ``path`` inside ``root`` (``"."`` for a directory reached as such), None if missing.
    The last component is followed only when ``follow`` (-L); every other symlink resolves inside the root."""
    found = lookup(root, path, follow)
    return None if found is None else (found[0], found[1])


def _plan(src_path: str, src_is_dir: bool, dest_exists: bool, dest_is_dir: bool, dest: str) -> tuple[str, str, bool]:
    """docker's table: (directory to extract into, the name the source gets there, copy contents only)."""
    base = os.path.basename(src_path.rstrip("/")) or "."
    contents = src_path.endswith("/.") or src_path in (".", "/")
    if not src_is_dir:
        if dest_exists and dest_is_dir:
            return dest, base, False
        if dest_exists:
            return os.path.dirname(dest.rstrip("/")) or "/", os.path.basename(dest.rstrip("/")), False
        if dest.endswith("/"):
            raise CopyError(f"no such directory: {dest}")  # docker: the destination directory must exist
        return os.path.dirname(dest) or ".", os.path.basename(dest), False
    if dest_exists and not dest_is_dir:
        raise CopyError("cannot copy directory")
    if dest_exists and not contents:
        return dest, base, False
    if dest_exists:
        return dest, ".", True
    return os.path.dirname(dest.rstrip("/")) or ".", os.path.basename(dest.rstrip("/")), False


def _through_pipe(produce: Callable[[BinaryIO], None], consume: Callable[[BinaryIO], None]) -> None:
    """Run ``produce(writable)`` in a thread and ``consume(readable)`` here, joined by a pipe."""
    r, w = os.pipe()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with open(w, "wb") as out:
                produce(out)
        except BaseException as e:  # handed to the caller below
            failure.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        with open(r, "rb") as f:
            consume(f)
    finally:
        t.join()
    if failure and not isinstance(failure[0], BrokenPipeError):
        raise failure[0]


def _unpack(stream: BinaryIO, dest_dir: str | Path) -> None:
    apply_layer(stream, Path(dest_dir), WhiteoutPolicy.NONE)


# ------------------------------------------------------------------ the two directions (in the child)


def _from_container(root: Path, ref: str, src: str, dest: str, follow: bool, archive: bool) -> None:
    with Root(root) as r:
        found = _resolve(r, src, follow)
        if found is None:
            raise CopyPathNotFound(f"Could not find the file {src} in container {ref}")
        dfd, name = found
        is_dir = dir_at(dfd, name)
        if (src.endswith("/") or src.endswith("/.")) and not is_dir:
            raise CopyError(f"{src}: not a directory")
        contents = is_dir and (src.endswith("/.") or src in ("/", "."))
        if dest == "-":  # the source as it is, owners too: "name/..." or, for "dir/.", "./..."
            write_tar(sys.stdout.buffer, dfd, name, "." if contents or name == "." else name, False, None)
            sys.stdout.flush()
            return
        try:
            st = os.stat(dest)
            exists, dest_is_dir = True, stat.S_ISDIR(st.st_mode)
        except FileNotFoundError:
            exists, dest_is_dir = False, False
        into, arcname, only = _plan(src, is_dir, exists, dest_is_dir, dest)
        if not os.path.isdir(into):
            raise CopyError(f"no such directory: {into}")
        owner = None if archive else (os.geteuid(), os.getegid())
        _through_pipe(lambda out: write_tar(out, dfd, name, arcname, only, owner, into), lambda f: _unpack(f, into))


def _to_container(root: Path, ref: str, src: str, dest: str, follow: bool, archive: bool) -> None:
    with Root(root) as r:
        target = _resolve(r, dest, True)
        exists = target is not None
        dest_is_dir = target is not None and dir_at(*target)
        if src == "-":
            if not dest_is_dir:
                if not exists:
                    raise CopyPathNotFound(f"Could not find the file {dest} in container {ref}")
                raise CopyError(f"extraction point is not a directory: {dest}")
            assert target is not None
            _unpack(sys.stdin.buffer, fd_path(*target))
            return
        spath = os.path.realpath(src) if follow else src
        try:
            st = os.lstat(spath)
        except FileNotFoundError as e:
            raise CopyError(f"stat {src}: no such file or directory") from e
        is_dir = stat.S_ISDIR(st.st_mode)
        if (src.endswith("/") or src.endswith("/.")) and not is_dir:
            raise CopyError(f"{src}: not a directory")
        into, arcname, only = _plan(src, is_dir, exists, dest_is_dir, dest)
        found = r.walk(clean_parts(into, into), False, into)
        if found is None:
            raise CopyPathNotFound(f"Could not find the file {into} in container {ref}")
        into_path = fd_path(found[0], ".")
        parent = os.path.dirname(os.path.abspath(spath))
        pfd = os.open(parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            name = os.path.basename(os.path.abspath(spath)) if os.path.abspath(spath) != "/" else "."
            sfd, sname = (pfd, name) if name != "." else (os.open("/", os.O_PATH | os.O_CLOEXEC), ".")
            owner = None if archive else (0, 0)
            _through_pipe(
                lambda out: write_tar(out, sfd, sname, arcname, only, owner, into), lambda f: _unpack(f, into_path)
            )
        finally:
            os.close(pfd)


def copy(layout: Layout, src: str, dest: str, *, follow: bool = False, archive: bool = False) -> None:
    """``cp SRC DEST``: one of them ``CONTAINER:PATH``; ``-`` for a tar stream on stdin or stdout."""
    a, b = parse_endpoint(src), parse_endpoint(dest)
    if bool(a.container) == bool(b.container):
        raise UsageError("copying between containers is not supported" if a.container else
                         "must specify at least one container source")  # fmt: skip
    ref = a.container or b.container
    rec = Engine.of(layout).containers.resolve(ref)

    def work(root: Path) -> str:
        if a.container:
            _from_container(root, ref, a.path, b.path, follow, archive)
        else:
            _to_container(root, ref, a.path, b.path, follow, archive)
        return ""

    in_rootfs(layout, rec, work, keep_fds=(0, 1, 2))
    # docker's CLI copies through the API, whose archive (out) or extraction (in) dockerd logs; its stats do not
    event(layout, rec, "archive-path" if a.container else "extract-to-dir")
