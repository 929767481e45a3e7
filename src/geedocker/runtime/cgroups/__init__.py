"""Control groups: a v1 and a v2 driver behind one small interface, chosen at run time.

v2 is used when ``/sys/fs/cgroup`` itself is a cgroup2 mount; otherwise v1 (one hierarchy per
controller). A container's cgroup is ``linux.cgroupsPath`` when it is absolute, else that relative path
(default ``geedocker/<id>``) below the cgroup of the calling process, so a runtime started inside a
limited cgroup nests its containers there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from geedocker.errors import ContainerError
from geedocker.runtime.spec import Device, DeviceRule, Resources
from geedocker.values import replace

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Protocol

CGROUP_ROOT = Path("/sys/fs/cgroup")
# The parent cgroup geedocker owns: the engine's containers live in /geedocker/<id>, and the runtime's
# default path is geedocker/<root hash>-<id> (see ``container_path`` and ``default_path``).
OWN_PARENT = "geedocker"
MAX_FILE_BYTES = 1 << 20


class CgroupError(ContainerError):
    """Creating, configuring or removing a container's cgroup failed."""


if TYPE_CHECKING:  # a Protocol only annotations use: no typing import at run time
    class Cgroup(Protocol):
        version: int

        def create(self) -> None: ...

        def apply(self, resources: Resources) -> None: ...

        def add(self, pid: int) -> None: ...

        def pids(self) -> list[int]: ...

        def freeze(self) -> None: ...

        def thaw(self) -> None: ...

        def frozen(self) -> bool: ...

        def destroy(self) -> None: ...

        def to_json(self) -> dict[str, object]: ...

        def mount_sources(self) -> list[tuple[str, str]]: ...


# What every container may use whatever its device rules say (runc's list): mknod of anything, the
# standard nodes, ptys and tun.
DEFAULT_ALLOWED_DEVICES: tuple[DeviceRule, ...] = (
    DeviceRule(True, "c", None, None, "m"),
    DeviceRule(True, "b", None, None, "m"),
    DeviceRule(True, "c", 1, 3, "rwm"),
    DeviceRule(True, "c", 1, 5, "rwm"),
    DeviceRule(True, "c", 1, 7, "rwm"),
    DeviceRule(True, "c", 1, 8, "rwm"),
    DeviceRule(True, "c", 1, 9, "rwm"),
    DeviceRule(True, "c", 5, 0, "rwm"),
    DeviceRule(True, "c", 5, 1, "rwm"),
    DeviceRule(True, "c", 5, 2, "rwm"),
    DeviceRule(True, "c", 136, None, "rwm"),
    DeviceRule(True, "c", 10, 200, "rwm"),
)


def with_default_devices(resources: Resources, devices: tuple[Device, ...]) -> Resources:
    """The spec's device rules, then the default devices and the spec's ``linux.devices`` allowed after them
    (as runc does), when the spec restricts devices at all."""
    if not resources.devices:
        return resources
    own = tuple(DeviceRule(True, "b" if d.type == "b" else "c", d.major, d.minor, "rwm")
                for d in devices if d.type in ("b", "c", "u"))
    rules = resources.devices
    last_deny = max((i for i, r in enumerate(rules) if not r.allow), default=-1)
    in_force = set(rules[last_deny + 1:])  # allowed after the last deny: adding them again changes nothing
    extra = tuple(dict.fromkeys(r for r in DEFAULT_ALLOWED_DEVICES + own if r not in in_force))
    return replace(resources, devices=rules + extra)


def read_text(path: Path) -> str:
    with open(path, "rb") as f:
        return f.read(MAX_FILE_BYTES).decode()


def write_text(path: Path, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        raise CgroupError(f"writing {value!r} to {path}: {e.strerror}") from e


def parse_pids(text: str) -> list[int]:
    return [int(x) for x in text.split()]


def remove_cgroups(dirs: list[Path], before_kill: Callable[[], None] | None = None, timeout: float = 10.0) -> None:
    """Remove a container's cgroup ``dirs``: one rmdir each in the usual case (empty, no child cgroup). Of the
    busy ones, after ``before_kill`` (v1 thaws a frozen freezer), every process is SIGKILLed, in their child
    cgroups too (made with a cgroup namespace), until none is left; then they go, deepest first."""
    busy = []
    for d in dirs:
        try:
            os.rmdir(d)
        except FileNotFoundError:
            pass
        except OSError:
            busy.append(d)
    if not busy:
        return
    if before_kill is not None:
        before_kill()
    subdirs: list[Path] = []
    for d in busy:
        subdirs.extend(sorted((Path(root) for root, _, _ in os.walk(d)), key=lambda p: len(p.parts), reverse=True))
    deadline = time.monotonic() + timeout
    for d in subdirs:
        f = d / "cgroup.procs"
        while f.exists():
            try:
                pids = parse_pids(read_text(f))
            except OSError:
                break
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise CgroupError(f"processes {pids} in {d} do not die")
            time.sleep(0.01)
    for d in subdirs:
        while True:
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise CgroupError(f"removing cgroup {d}: {e.strerror}") from e
                time.sleep(0.01)


def make_dir(d: Path) -> None:
    """mkdir -p for a cgroup; retried when a parent vanishes meanwhile (``remove_own_parent`` of another
    container that was deleted at that moment)."""
    for attempt in range(5):
        try:
            d.mkdir(parents=True, exist_ok=True)
            return
        except FileNotFoundError as e:
            if attempt == 4:
                raise CgroupError(f"creating cgroup {d}: a parent directory keeps disappearing") from e
        except OSError as e:
            raise CgroupError(f"creating cgroup {d}: {e.strerror}") from e


def remove_own_parent(d: Path) -> None:
    """After removing container cgroup ``d``: remove its parent too when it is geedocker's own and empty.

    Only the ``geedocker`` directory that geedocker's paths introduce is touched, never a parent that a
    caller named; a parent that other containers still use stays (rmdir fails, and that is fine).
    """
    if d.parent.name != OWN_PARENT:
        return
    with contextlib.suppress(OSError):
        os.rmdir(d.parent)


SELF_CGROUP = "/proc/self/cgroup"
SELF_MOUNTINFO = "/proc/self/mountinfo"
_read_once: dict[str, str] = {}


def host_text(path: str) -> str:
    """``path``'s text; this process's cgroups and mount table (``SELF_CGROUP``, ``SELF_MOUNTINFO``) are read
    once per process: a container start asks about them a dozen times, and neither changes under it."""
    if path not in (SELF_CGROUP, SELF_MOUNTINFO):
        return read_text(Path(path))
    if path not in _read_once:
        _read_once[path] = read_text(Path(path))
    return _read_once[path]


def own_cgroups(proc_cgroup: str = SELF_CGROUP) -> dict[str, str]:
    """Controller (or "" for the unified hierarchy, "name=systemd" for named ones) -> path of this process."""
    out: dict[str, str] = {}
    for line in host_text(proc_cgroup).splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, path = parts
        if not ctrls:
            out[""] = path
        for c in ctrls.split(","):
            if c:
                out[c] = path
    return out


def is_unified(root: Path = CGROUP_ROOT) -> bool:
    """Whether ``root`` is a cgroup2 mount (read from /proc/self/mountinfo)."""
    target = os.fspath(root)
    fstype = ""
    for line in host_text(SELF_MOUNTINFO).splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) >= 5 and fields[4] == target:
            fstype = right.split()[0] if right else ""
    return fstype == "cgroup2"


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


def warm_up_migration() -> None:
    """Make the kernel's next moves of processes between cgroups quick, from a thread, without waiting.

    A move (a write to ``cgroup.procs``) takes the kernel's ``cgroup_threadgroup_rwsem`` for writing. That
    lock favours its readers (every fork and exit): when no move has happened for a while, the next one
    first waits for an RCU grace period, 7-25 ms on a small VM, and the moves that follow within a grace
    period of it do not. ``create`` moves the container's init into its cgroups on its critical path, so it
    calls this as soon as it has made the container's cgroups: a thread moves this process into the cgroup
    it is already in (which changes nothing but takes the lock), and the grace period passes while the runtime
    forks and the init sets its root filesystem up. Not before the cgroups are made: the kernel holds
    cgroup_mutex, which a cgroup mkdir needs, while the move waits. Errors are ignored: this only saves time.
    """
    import _thread

    try:
        own = own_cgroups()
        if is_unified():
            procs = CGROUP_ROOT / own.get("", "/").lstrip("/") / "cgroup.procs"
        else:
            from geedocker.runtime.cgroups.v1 import v1_mounts

            mounts = v1_mounts()
            ctrl = next((c for c in mounts if c in own), None)
            if ctrl is None:
                return
            procs = mounts[ctrl] / own[ctrl].lstrip("/") / "cgroup.procs"
        _thread.start_new_thread(_move_self, (os.fspath(procs),))
    except (OSError, RuntimeError):
        pass


def _move_self(procs: str) -> None:
    try:
        fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, b"0")  # 0: the writing process
        finally:
            os.close(fd)
    except OSError:
        pass
