"""Linux namespaces: the spec's types, creating (unshare) or joining (setns) them, user id maps.

Run in a freshly forked, single-threaded child. The user namespace comes first (created, then mapped
by the parent, or joined), then the others are joined by path or created with one unshare; a new PID
or time namespace applies to the *next* child, so the caller forks again afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from geedocker.errors import ContainerError
from geedocker.runtime import syscalls
from geedocker.runtime.spec_linux import IDMapping, Linux

FLAGS: dict[str, int] = {
    "user": syscalls.CLONE_NEWUSER,
    "ipc": syscalls.CLONE_NEWIPC,
    "uts": syscalls.CLONE_NEWUTS,
    "network": syscalls.CLONE_NEWNET,
    "pid": syscalls.CLONE_NEWPID,
    "mount": syscalls.CLONE_NEWNS,
    "cgroup": syscalls.CLONE_NEWCGROUP,
    "time": syscalls.CLONE_NEWTIME,
}
# /proc/<pid>/ns/<name>; pid_for_children / time_for_children are what a forked child would get.
PROC_NAMES: dict[str, str] = {
    "user": "user",
    "ipc": "ipc",
    "uts": "uts",
    "network": "net",
    "pid": "pid",
    "mount": "mnt",
    "cgroup": "cgroup",
    "time": "time",
}
# Join order: user first (it owns the others), mount last (it changes our root).
JOIN_ORDER = ("user", "ipc", "uts", "network", "cgroup", "pid", "time", "mount")


class NamespaceError(ContainerError):
    """A namespace could not be created or joined."""


def open_paths(linux: Linux) -> dict[str, int]:
    """Open every namespace the spec gives by path (before we change anything), type -> fd."""
    fds: dict[str, int] = {}
    for ns in linux.namespaces:
        if ns.path:
            try:
                fds[ns.type] = os.open(ns.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as e:
                for fd in fds.values():
                    os.close(fd)
                raise NamespaceError(f"opening {ns.type} namespace {ns.path}: {e.strerror}") from e
    return fds


def join(fds: dict[str, int], types: Iterable[str] | None = None) -> None:
    """setns into each opened namespace (in JOIN_ORDER), closing the fds."""
    wanted = set(fds if types is None else types)
    for t in JOIN_ORDER:
        if t in wanted and t in fds:
            try:
                syscalls.setns(fds[t], FLAGS[t])
            except OSError as e:
                raise NamespaceError(f"joining the {t} namespace: {e.strerror}") from e
            os.close(fds.pop(t))


def new_flags(linux: Linux, *, exclude: Iterable[str] = ()) -> int:
    """The unshare flags for the namespaces the spec wants created (no path)."""
    skip = set(exclude)
    flags = 0
    for ns in linux.namespaces:
        if not ns.path and ns.type not in skip:
            flags |= FLAGS[ns.type]
    return flags


def unshare(flags: int) -> None:
    if not flags:
        return
    try:
        syscalls.unshare(flags)
    except OSError as e:
        names = [t for t, f in FLAGS.items() if flags & f]
        raise NamespaceError(f"creating namespaces {', '.join(names)}: {e.strerror}") from e


def format_map(mappings: Iterable[IDMapping]) -> str:
    return "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in mappings)


def write_id_maps(pid: int, uid_mappings: tuple[IDMapping, ...], gid_mappings: tuple[IDMapping, ...]) -> None:
    """From the parent user namespace: the uid_map and gid_map of ``pid``'s new user namespace."""
    for name, maps in (("uid_map", uid_mappings), ("gid_map", gid_mappings)):
        if not maps:
            continue
        try:
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(format_map(maps))
        except OSError as e:
            raise NamespaceError(f"writing {name} of process {pid}: {e.strerror}") from e


def ns_paths(pid: int, types: Iterable[str]) -> dict[str, str]:
    return {t: f"/proc/{pid}/ns/{PROC_NAMES[t]}" for t in types}


def same_namespace(pid: int, t: str) -> bool:
    """Whether ``pid`` and this process share namespace ``t``."""
    name = PROC_NAMES[t]
    try:
        return os.stat(f"/proc/{pid}/ns/{name}").st_ino == os.stat(f"/proc/self/ns/{name}").st_ino
    except OSError:
        return False
