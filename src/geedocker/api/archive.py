"""``/containers/{id}/archive``: HEAD (a path's stat), GET (a tar of it), PUT (a tar extracted into a directory),
what ``docker cp`` and docker-py's ``get_archive``/``put_archive`` use; thin over ``geedocker.containers.archive``.

The stat travels as docker's ``X-Docker-Container-Path-Stat`` header: base64 of ``{name, size, mode, mtime,
linkTarget}`` with Go's ``os.FileMode`` bits (the CLI decides from them whether a path is a directory) and the
mtime in RFC 3339 with nanoseconds. Status codes as docker's API reference (``api.errors`` places the copy's
errors): 404 for a missing container or path, 400 for bad arguments (no ``path``, an extraction point that is not
a directory), 403 for a read-only rootfs or volume.
"""

from __future__ import annotations

import base64
import json
import stat
import time

from geedocker.api.errors import ApiError
from geedocker.api.messages import Request, Response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.containers.archive import PathStat

STAT_HEADER = "X-Docker-Container-Path-Stat"

# Go's os.FileMode type bits (what docker's clients test: IsDir, ModeSymlink, ModeDevice...)
_GO_DIR, _GO_SYMLINK, _GO_DEVICE, _GO_PIPE, _GO_SOCKET = 1 << 31, 1 << 27, 1 << 26, 1 << 25, 1 << 24
_GO_SETUID, _GO_SETGID, _GO_CHARDEV, _GO_STICKY = 1 << 23, 1 << 22, 1 << 21, 1 << 20
_GO_TYPES = {stat.S_IFDIR: _GO_DIR, stat.S_IFLNK: _GO_SYMLINK, stat.S_IFBLK: _GO_DEVICE,
             stat.S_IFCHR: _GO_DEVICE | _GO_CHARDEV, stat.S_IFIFO: _GO_PIPE, stat.S_IFSOCK: _GO_SOCKET}  # fmt: skip


def go_mode(st_mode: int) -> int:
    """``st_mode`` as Go's ``os.FileMode`` (permission bits, then its own bits for the type and setuid...)."""
    mode = (st_mode & 0o777) | _GO_TYPES.get(stat.S_IFMT(st_mode), 0)
    for bit, go in ((stat.S_ISUID, _GO_SETUID), (stat.S_ISGID, _GO_SETGID), (stat.S_ISVTX, _GO_STICKY)):
        if st_mode & bit:
            mode |= go
    return mode


def rfc3339_nano(ns: int) -> str:
    """Go's ``time.Time`` in JSON (RFC3339Nano, UTC): the fraction without trailing zeros."""
    sec, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    digits = f"{frac:09d}".rstrip("0")
    return text + (f".{digits}" if digits else "") + "Z"


def stat_header(st: PathStat) -> str:
    doc = {"name": st.name, "size": st.size, "mode": go_mode(st.mode), "mtime": rfc3339_nano(st.mtime_ns),
           "linkTarget": st.link_target}  # fmt: skip
    return base64.b64encode(json.dumps(doc).encode()).decode("ascii")


def _path(req: Request) -> str:
    path = req.arg("path")
    if not path:
        raise ApiError(400, "bad parameter: path cannot be empty")
    return path


def get(req: Request) -> Response:
    """GET (and HEAD, which the router sends here): the tar, or only the stat header."""
    from geedocker.containers import archive

    path = _path(req)
    if req.method == "HEAD":
        st = archive.stat_path(req.layout, req.params["id"], path)
        return Response(200, b"", content_type="", headers={STAT_HEADER: stat_header(st)})
    stream = archive.open_archive(req.layout, req.params["id"], path)
    return Response(200, stream, content_type="application/x-tar",
                    headers={STAT_HEADER: stat_header(stream.stat)})  # fmt: skip


def put(req: Request) -> Response:
    from geedocker.containers import archive

    archive.extract(req.layout, req.params["id"], _path(req), req.chunks(),
                    keep_kinds=req.flag("noOverwriteDirNonDir"), copy_uid_gid=req.flag("copyUIDGID"))  # fmt: skip
    return Response(200, b"", content_type="")
