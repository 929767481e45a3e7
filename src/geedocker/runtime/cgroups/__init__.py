"""Control groups: a v1 and a v2 driver behind one small interface (``base.Cgroup``), chosen at run time.

v2 is used when ``/sys/fs/cgroup`` itself is a cgroup2 mount; otherwise v1 (one hierarchy per
controller). A container's cgroup is ``linux.cgroupsPath`` when it is absolute, else that relative path
(default ``geedocker/<id>``) below the cgroup of the calling process, so a runtime started inside a
limited cgroup nests its containers there.

Modules by job: ``base`` (the interface, its error, constants), ``files`` (cgroupfs reads and writes,
making and removing directories), ``devices`` (default device rules), ``host`` (this process's cgroups,
the migration warm-up), ``paths`` (a container's cgroup path), ``v1`` and ``v2`` (the drivers, loaded
when chosen).
"""

from __future__ import annotations

from pathlib import Path

from geedocker.runtime.cgroups.base import CGROUP_ROOT, MAX_FILE_BYTES, OWN_PARENT, Cgroup, CgroupError
from geedocker.runtime.cgroups.devices import DEFAULT_ALLOWED_DEVICES, with_default_devices
from geedocker.runtime.cgroups.files import (
    make_dir,
    parse_pids,
    read_text,
    remove_cgroups,
    remove_own_parent,
    write_text,
)
from geedocker.runtime.cgroups.host import (
    SELF_CGROUP,
    SELF_MOUNTINFO,
    host_text,
    is_unified,
    own_cgroups,
    warm_up_migration,
)
from geedocker.runtime.cgroups.paths import container_path, default_path

__all__ = [
    "CGROUP_ROOT", "DEFAULT_ALLOWED_DEVICES", "MAX_FILE_BYTES", "OWN_PARENT", "SELF_CGROUP", "SELF_MOUNTINFO",
    "Cgroup", "CgroupError", "container_path", "default_path", "for_container", "from_json", "host_text",
    "is_unified", "make_dir", "own_cgroups", "parse_pids", "read_text", "remove_cgroups", "remove_own_parent",
    "warm_up_migration", "with_default_devices", "write_text",
]


def for_container(cgroups_path: str, cid: str) -> Cgroup:
    """The driver for this host, for a container's cgroup (not created yet)."""
    own = own_cgroups()
    if is_unified():
        from geedocker.runtime.cgroups.v2 import V2

        return V2(CGROUP_ROOT, container_path(cgroups_path, cid, own.get("", "/")))
    from geedocker.runtime.cgroups.v1 import V1

    return V1.for_host(cgroups_path, cid, own)


def from_json(obj: dict[str, object]) -> Cgroup:
    """The driver saved in a container's state by ``to_json``."""
    if obj.get("version") == 2:
        from geedocker.runtime.cgroups.v2 import V2

        return V2(Path(str(obj["mount"])), str(obj["path"]))
    from geedocker.runtime.cgroups.v1 import V1

    dirs = obj.get("dirs")
    if not isinstance(dirs, dict):
        raise CgroupError("saved cgroup state is malformed")
    return V1({str(k): Path(str(v)) for k, v in dirs.items()})
