"""Where a container's cgroup is: the spec's ``cgroupsPath`` resolved, or geedocker's default."""

from __future__ import annotations

import os

from geedocker.runtime.cgroups.base import OWN_PARENT, CgroupError


def container_path(cgroups_path: str, cid: str, parent: str) -> str:
    """The absolute cgroup path for a container: ``cgroups_path`` if absolute, else below ``parent``."""
    if ":" in cgroups_path and not cgroups_path.startswith("/"):
        raise CgroupError(f"cgroupsPath {cgroups_path!r} looks like a systemd slice:scope path; "
                          "the systemd cgroup driver is not supported")
    rel = cgroups_path or f"{OWN_PARENT}/{cid}"
    if ".." in rel.split("/"):
        raise CgroupError(f"cgroupsPath {cgroups_path!r} must not contain '..'")
    if rel.startswith("/"):
        path = os.path.normpath(rel)
    else:
        path = os.path.normpath(os.path.join(parent or "/", rel))
    if not path.startswith("/") or ".." in path.split("/"):
        raise CgroupError(f"cgroupsPath {cgroups_path!r} is not a valid cgroup path")
    return path


def default_path(root: str, cid: str) -> str:
    """The relative cgroup path of a container whose spec gives none: ``geedocker/<root hash>-<id>``.

    The hash of the runtime's state root keeps two runtimes (two roots) that use the same container id
    from sharing, and then killing, each other's cgroup."""
    import zlib  # not hashlib: loading OpenSSL costs a few ms of every start

    return f"{OWN_PARENT}/{zlib.crc32(root.encode()):08x}-{cid}"
