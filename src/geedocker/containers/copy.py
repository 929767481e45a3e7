"""``cp``: files between a container and the host, with docker's rules.

The copy runs in a forked child with a private mount namespace, as dockerd does for ``docker cp``: there the
container's overlay is mounted if it is not (a stopped container: it goes with the namespace) and its volumes
and bind mounts are bound onto their destinations, so the container's paths resolve as the container sees them.
Every container path is resolved inside that root filesystem (``geedocker.archive.root.Root``: symlinks resolve
as in a chroot, a link to ``/`` or ``../..`` stays inside), and what goes into the container is written by the
safe unpacker (``apply_layer``, no whiteouts). What comes out is a tar (``archive.writer.TarWriter``) read from
directory fds, never through a path a container could swap.

docker's rules (its documented table): a file goes into an existing directory under its name, or replaces an
existing file, or becomes DEST when DEST is missing (``DEST/`` missing is an error); a directory becomes DEST
when DEST is missing, goes into an existing directory under its name, or, as ``SRC/.``, puts its content there;
a directory onto a file is an error. Without ``-a`` what is copied is owned by the receiving side's user (root
in the container, the invoking user on the host); with ``-a`` it keeps its source's uid/gid.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from geedocker.archive.apply import apply_layer
from geedocker.archive.options import WhiteoutPolicy
from geedocker.archive.root import Root, clean_parts
from geedocker.archive.writer import TarWriter, tar_stream
from geedocker.containers import rootfs
from geedocker.containers.engine import Engine
from geedocker.containers.record import ContainerRecord
from geedocker.errors import ContainerError, GeeDockerError, UsageError
from geedocker.procs import release_fds
from geedocker.runtime import syscalls
from geedocker.store.layout import Layout
from geedocker.values import value

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class CopyError(GeeDockerError):
    """A ``cp`` that cannot be done (docker: exit 1); the Engine API answers 400."""

    exit_code = 1


class CopyPathNotFound(CopyError):
    """The container path does not exist (the API: 404)."""


class CopyReadOnly(CopyError):
    """The destination is on a read-only rootfs or volume (the API: 403)."""


class CopyFailed(CopyError):
    """The system failed the copy (an I/O error; the API: 500)."""


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


class _Owned(TarWriter):
    """A TarWriter that gives every entry one owner (``cp`` without ``-a``)."""

    def __init__(self, tf: tarfile.TarFile, uid: int, gid: int) -> None:
        super().__init__(tf)
        self.uid, self.gid = uid, gid

    def _info(self, name: str, st: os.stat_result) -> tarfile.TarInfo:
        ti = super()._info(name, st)
        ti.uid, ti.gid = self.uid, self.gid
        return ti


def fd_path(dir_fd: int, name: str) -> str:
    return f"/proc/self/fd/{dir_fd}" + ("" if name == "." else f"/{name}")


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


def _resolve(root: Root, path: str, follow: bool) -> tuple[int, str] | None:
    """(dir fd, name) of ``path`` inside ``root`` (``"."`` for a directory reached as such), None if missing.
    The last component is followed only when ``follow`` (-L); every other symlink resolves inside the root."""
    found = lookup(root, path, follow)
    return None if found is None else (found[0], found[1])


def lookup(root: Root, path: str, follow: bool) -> tuple[int, str, tuple[str, ...]] | None:
    """``_resolve`` and the real path it reached, as parts from the root (empty for the root itself)."""
    parts = clean_parts(path, path)
    if not parts:
        return root.fd, ".", ()
    for _ in range(40):
        found = root.walk(parts[:-1], False, path)
        if found is None:
            return None
        pfd, preal = found
        name = parts[-1]
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if not (follow and stat.S_ISLNK(st.st_mode)):
            return pfd, name, (*preal, name)
        target = os.readlink(name, dir_fd=pfd)
        joined = target if target.startswith("/") else "/".join((*preal, target))
        parts = clean_parts(lexical(joined), path)
        if not parts:
            return root.fd, ".", ()
    raise CopyError(f"{path}: too many levels of symbolic links")


def lexical(path: str) -> str:
    """``..`` above the top is dropped (as a chroot does) rather than refused."""
    out: list[str] = []
    for p in path.split("/"):
        if p == "..":
            if out:
                out.pop()
        elif p not in ("", "."):
            out.append(p)
    return "/".join(out)


def lstat_at(dir_fd: int, name: str) -> os.stat_result:
    """``lstat`` of ``name`` in ``dir_fd``; ``"."`` is the directory itself (its ``/proc/self/fd`` path is a
    symlink)."""
    return os.fstat(dir_fd) if name == "." else os.lstat(fd_path(dir_fd, name))


def dir_at(dir_fd: int, name: str) -> bool:
    return stat.S_ISDIR(lstat_at(dir_fd, name).st_mode)


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


# ------------------------------------------------------------------ the private mount namespace


def _assemble(layout: Layout, rec: ContainerRecord) -> Path:
    """In this (private) mount namespace: the container's overlay and its volumes and binds at their places."""
    store = Engine.of(layout).containers
    root = store.rootfs(rec.id)
    syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE, None)
    if not rootfs.is_mountpoint(root):
        rootfs.mount_overlay(store.dir(rec.id), [Path(p) for p in rec.lower_dirs], root)
    if rec.options.read_only:
        syscalls.mount(str(root), root, None, syscalls.MS_BIND | syscalls.MS_REC, None)
        syscalls.mount(None, root, None, syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_RDONLY, None)
    if any(m.type != "tmpfs" for m in rec.options.mounts):
        from geedocker.containers import volumes  # here: only containers with mounts need it
        from geedocker.containers.paths import mkdir_in_root, secure_join

        for m in sorted(volumes.for_spec(layout, rec), key=lambda m: m.target.count("/")):
            if m.type != "bind":
                continue  # tmpfs content lives only in the running container, as with docker's cp
            if os.path.isdir(m.source):
                target = mkdir_in_root(root, m.target)
            else:
                target = secure_join(root, m.target)
                if not target.is_file():
                    continue
            syscalls.mount(m.source, target, None, syscalls.MS_BIND | syscalls.MS_REC, None)
            if m.readonly:
                syscalls.mount(None, target, None, syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_RDONLY, None)
    return root


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


# The kinds of failure a child reports, and the errors they become in the parent.
_KINDS: dict[str, type[CopyError]] = {"": CopyError, "notfound": CopyPathNotFound, "readonly": CopyReadOnly,
                                      "system": CopyFailed}  # fmt: skip


def in_rootfs(layout: Layout, rec: ContainerRecord, work: Callable[[Path], str], *,
              keep_fds: tuple[int, ...] = (), forked: Callable[[], None] | None = None) -> str:  # fmt: skip
    """Run ``work(root)`` in a forked child with a private mount namespace where ``rec``'s filesystem is
    assembled (``_assemble``); its result, or its failure raised here.

    The child keeps only ``keep_fds`` and its report pipe: a descriptor of the caller's that it held (another
    request's pipe or socket, in the API service) would keep that stream from ending while the child runs.
    ``forked`` runs in the caller once the child exists (to close its copies of the ends the child uses)."""
    import json

    rpipe, wpipe = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child, checked through its result
        report: dict[str, object] = {}
        try:
            release_fds({*keep_fds, wpipe})  # /dev/null, not closed: see procs.release_fds
            syscalls.unshare(syscalls.CLONE_NEWNS)
            report = {"result": work(_assemble(layout, rec))}
        except GeeDockerError as e:
            kind = next((k for k, cls in _KINDS.items() if type(e) is cls), "")
            report = {"error": str(e), "exit_code": e.exit_code, "kind": kind}
        except OSError as e:
            ro = e.errno == errno.EROFS
            msg = "container rootfs or volume is marked read-only" if ro else str(e)
            report = {"error": msg, "exit_code": 1, "kind": "readonly" if ro else "system"}
        except BaseException as e:  # noqa: BLE001 - the parent reports it; the child must not return
            report = {"error": f"{type(e).__name__}: {e}", "exit_code": 1, "kind": "system"}
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            with contextlib.suppress(BaseException):
                os.write(wpipe, json.dumps(report).encode())
            os._exit(0 if "result" in report else 1)
    os.close(wpipe)
    if forked is not None:
        forked()
    with open(rpipe, "rb") as f:
        data = f.read(1 << 20)
    _, status = os.waitpid(pid, 0)
    try:
        report = json.loads(data)
    except ValueError:
        raise ContainerError(f"cp: the copying process failed (status {os.waitstatus_to_exitcode(status)})") from None
    if "result" in report:
        return str(report["result"])
    err = _KINDS.get(str(report.get("kind", "")), CopyError)(str(report.get("error", "")))
    err.exit_code = int(str(report.get("exit_code", 1)))
    raise err
