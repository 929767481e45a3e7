"""Work inside a container's filesystem, as dockerd does for ``docker cp``: ``in_rootfs`` runs a function in a
forked child with a private mount namespace, where the container's overlay is mounted if it is not (a stopped
container: it goes with the namespace) and its volumes and bind mounts are bound onto their destinations, so the
container's paths resolve as the container sees them. The child's result, or its failure as the ``CopyError`` it
was, comes back to the caller through a pipe. ``cp`` (``containers.copy``) and the archive endpoints
(``containers.archive``) use it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

from geedocker.containers import rootfs
from geedocker.containers.copyerrors import CopyError, CopyFailed, CopyPathNotFound, CopyReadOnly
from geedocker.containers.engine import Engine
from geedocker.containers.record import ContainerRecord
from geedocker.errors import ContainerError, GeeDockerError
from geedocker.procs import release_fds
from geedocker.runtime import syscalls
from geedocker.store.layout import Layout


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
