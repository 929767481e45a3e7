"""The container's root filesystem: mounts, pivot_root, masked and read-only paths.

Runs in the container's init, in its own mount namespace, in this order:

1. ``prepare``: make ``/`` recursively private (nothing we mount propagates to the host), bind the
   rootfs onto itself, mount the spec's ``mounts`` (destinations resolved inside the rootfs with
   ``paths.secure_join``; each mount targets ``/proc/self/fd/N`` of an O_PATH fd checked to be below the
   rootfs: ``paths.mount_target``), then the devices.
2. ``pivot``: ``pivot_root(".", ".")`` then a lazy unmount of the old root stacked below.
3. ``finish``: masked paths (/dev/null on files, a read-only tmpfs on dirs), read-only paths, the
   read-only root, the rootfs propagation.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence

from geedocker.errors import ContainerError
from geedocker.logger import get_logger
from geedocker.runtime import devices, paths, syscalls
from geedocker.runtime.spec import Mount, Spec
from geedocker.values import value

log = get_logger(__name__)

_O_SUBDIR = os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC

S = syscalls
# option -> (flags to set, flags to clear)
FLAG_OPTIONS: dict[str, tuple[int, int]] = {
    "defaults": (0, 0),
    "ro": (S.MS_RDONLY, 0),
    "rw": (0, S.MS_RDONLY),
    "nosuid": (S.MS_NOSUID, 0),
    "suid": (0, S.MS_NOSUID),
    "nodev": (S.MS_NODEV, 0),
    "dev": (0, S.MS_NODEV),
    "noexec": (S.MS_NOEXEC, 0),
    "exec": (0, S.MS_NOEXEC),
    "sync": (S.MS_SYNCHRONOUS, 0),
    "async": (0, S.MS_SYNCHRONOUS),
    "dirsync": (S.MS_DIRSYNC, 0),
    "remount": (S.MS_REMOUNT, 0),
    "mand": (S.MS_MANDLOCK, 0),
    "nomand": (0, S.MS_MANDLOCK),
    "atime": (0, S.MS_NOATIME),
    "noatime": (S.MS_NOATIME, 0),
    "diratime": (0, S.MS_NODIRATIME),
    "nodiratime": (S.MS_NODIRATIME, 0),
    "bind": (S.MS_BIND, 0),
    "rbind": (S.MS_BIND | S.MS_REC, 0),
    "relatime": (S.MS_RELATIME, 0),
    "norelatime": (0, S.MS_RELATIME),
    "strictatime": (S.MS_STRICTATIME, 0),
    "nostrictatime": (0, S.MS_STRICTATIME),
    "nosymfollow": (S.MS_NOSYMFOLLOW, 0),
    "lazytime": (S.MS_LAZYTIME, 0),
    "nolazytime": (0, S.MS_LAZYTIME),
    "silent": (S.MS_SILENT, 0),
    "loud": (0, S.MS_SILENT),
}
PROPAGATION: dict[str, int] = {
    "private": S.MS_PRIVATE,
    "rprivate": S.MS_PRIVATE | S.MS_REC,
    "shared": S.MS_SHARED,
    "rshared": S.MS_SHARED | S.MS_REC,
    "slave": S.MS_SLAVE,
    "rslave": S.MS_SLAVE | S.MS_REC,
    "unbindable": S.MS_UNBINDABLE,
    "runbindable": S.MS_UNBINDABLE | S.MS_REC,
}
IGNORED_OPTIONS = frozenset({"tmpcopyup", "notmpcopyup", "copy-symlink", "rro"})
# statvfs f_flag bits -> mount flags (a bind remount must repeat the locked ones)
_ST_TO_MS = (
    (os.ST_RDONLY, S.MS_RDONLY),
    (os.ST_NOSUID, S.MS_NOSUID),
    (os.ST_NODEV, S.MS_NODEV),
    (os.ST_NOEXEC, S.MS_NOEXEC),
    (os.ST_SYNCHRONOUS, S.MS_SYNCHRONOUS),
    (os.ST_MANDLOCK, S.MS_MANDLOCK),
    (os.ST_NOATIME, S.MS_NOATIME),
    (os.ST_NODIRATIME, S.MS_NODIRATIME),
    (os.ST_RELATIME, S.MS_RELATIME),
)


class MountError(ContainerError):
    """A mount in the container's root filesystem failed."""


@value
class MountPlan:
    flags: int
    clear: int
    propagation: tuple[int, ...]
    data: str

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & S.MS_BIND)


def parse_options(options: Sequence[str]) -> MountPlan:
    flags = clear = 0
    prop: list[int] = []
    data: list[str] = []
    for opt in options:
        if opt in FLAG_OPTIONS:
            s, c = FLAG_OPTIONS[opt]
            flags = (flags | s) & ~c
            clear |= c
        elif opt in PROPAGATION:
            prop.append(PROPAGATION[opt])
        elif opt in IGNORED_OPTIONS:
            log.debug("mount option %s ignored", opt)
        elif opt in ("idmap", "ridmap"):
            raise MountError(f"mount option {opt!r} (idmapped mounts) is not supported")
        else:
            data.append(opt)
    return MountPlan(flags, clear, tuple(prop), ",".join(data))


def locked_flags(path: str) -> int:
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in _ST_TO_MS:
        if f & st:
            out |= ms
    return out


def remount_bind(path: str, flags: int) -> None:
    """Remount a bind mount with ``flags`` (keeping the flags the kernel locks on it)."""
    keep = locked_flags(path) & (S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC | S.MS_NOATIME | S.MS_NODIRATIME
                                 | S.MS_RELATIME)
    S.mount(None, path, None, S.MS_REMOUNT | S.MS_BIND | keep | flags)


def _source_is_dir(m: Mount, bundle: str) -> tuple[str, bool]:
    src = m.source
    if not src.startswith("/"):
        src = os.path.join(bundle, src)
    try:
        return src, os.path.isdir(src)
    except OSError:
        return src, True


def mount_one(rootfs: str, bundle: str, m: Mount, *, cgroup_sources: Sequence[tuple[str, str]] = ()) -> None:
    plan = parse_options(m.options)
    fstype = m.type or ("bind" if plan.is_bind else "")
    try:
        if plan.is_bind or fstype == "bind":
            src, is_dir = _source_is_dir(m, bundle)
            if not os.path.exists(src):
                raise MountError(f"mount {m.destination}: bind source {src} does not exist")
            target = paths.make_target(rootfs, m.destination, directory=is_dir)
            with paths.mount_target(rootfs, target) as t:
                S.mount(src, t, None, S.MS_BIND | (plan.flags & S.MS_REC))
            with paths.mount_target(rootfs, target) as t:  # again: the path now leads to the mounted tree
                extra = plan.flags & ~(S.MS_BIND | S.MS_REC | S.MS_REMOUNT)
                if extra:
                    remount_bind(t, extra)
                for p in plan.propagation:
                    S.mount(None, t, None, p)
            return
        if fstype == "cgroup" or fstype == "cgroup2":
            _mount_cgroups(rootfs, m, plan, cgroup_sources)
            return
        target = paths.make_target(rootfs, m.destination, directory=True)
        with paths.mount_target(rootfs, target) as t:
            S.mount(m.source or fstype, t, fstype, plan.flags & ~S.MS_REMOUNT, plan.data)
        if plan.propagation:
            with paths.mount_target(rootfs, target) as t:
                for p in plan.propagation:
                    S.mount(None, t, None, p)
    except OSError as e:
        raise MountError(f"mounting {m.source or fstype} on {m.destination} (type {fstype or 'none'}): "
                         f"{e.strerror or e}") from e


def _mount_cgroups(rootfs: str, m: Mount, plan: MountPlan, sources: Sequence[tuple[str, str]]) -> None:
    """``/sys/fs/cgroup``: the container's own cgroup directories, bound from the host's hierarchies.

    ``sources`` is [(name, host dir)]: ("", dir) alone for a unified (v2) host, else one entry per v1
    hierarchy, bound at ``<destination>/<name>`` on a tmpfs. Bind mounts of the container's own directories
    show what a cgroup mount made in its cgroup namespace would (the namespace's root is that directory),
    with or without such a namespace, and they need no wait for the process to be in its cgroups: the runtime
    moves it meanwhile. With no sources (no cgroup known), a cgroup2 mount as the spec says.
    """
    ro = plan.flags & S.MS_RDONLY
    base = plan.flags & (S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC | S.MS_RELATIME)
    target = paths.make_target(rootfs, m.destination, directory=True)
    if not sources:
        with paths.mount_target(rootfs, target) as t:
            S.mount("cgroup2", t, "cgroup2", base | ro)
        return
    if sources[0][0] == "":
        _bind_dir(rootfs, target, sources[0][1], base | ro)
        return
    with paths.mount_target(rootfs, target) as t:
        S.mount("tmpfs", t, "tmpfs", base, "mode=755")
    # The tmpfs is ours and empty: its subdirs are made and opened by name, relative to it (no path to resolve)
    tmpfs = paths.open_inside(rootfs, target)
    try:
        for name, src in sources:
            if not name or "/" in name or name in (".", ".."):
                raise MountError(f"bad cgroup hierarchy name {name!r}")
            os.mkdir(name, 0o755, dir_fd=tmpfs)
            with paths.via_fd(os.open(name, _O_SUBDIR, dir_fd=tmpfs)) as t:
                S.mount(src, t, None, S.MS_BIND)
            with paths.via_fd(os.open(name, _O_SUBDIR, dir_fd=tmpfs)) as t:  # the bound tree, now
                remount_bind(t, base | ro)
    finally:
        os.close(tmpfs)
    if ro:
        with paths.mount_target(rootfs, target) as t:
            try:
                remount_bind(t, S.MS_RDONLY)
            except OSError:
                S.mount(None, t, None, S.MS_REMOUNT | base | S.MS_RDONLY, "mode=755")


def _bind_dir(rootfs: str, target: str, src: str, flags: int) -> None:
    """Bind ``src`` (a host path) on ``target`` (below the rootfs), then remount it with ``flags``."""
    with paths.mount_target(rootfs, target) as t:
        S.mount(src, t, None, S.MS_BIND)
    with paths.mount_target(rootfs, target) as t:  # the path now leads to the bound tree
        remount_bind(t, flags)


def prepare(spec: Spec, rootfs: str, bundle: str, *, in_userns: bool,
            cgroup_sources: Sequence[tuple[str, str]] = ()) -> None:
    """Everything before pivot_root. ``rootfs`` is an absolute, symlink-free path; ``cgroup_sources`` as for
    ``_mount_cgroups``."""
    try:
        if spec.linux.namespace("mount") is not None:  # else the mounts are the runtime's: leave "/" as it is
            S.mount(None, "/", None, S.MS_REC | S.MS_PRIVATE)
            S.mount(rootfs, rootfs, None, S.MS_BIND | S.MS_REC)
    except OSError as e:
        hint = ""
        if in_userns and e.errno == errno.EACCES:
            hint = " (with a user namespace, the rootfs and every parent dir must be searchable by the mapped root)"
        raise MountError(f"preparing the root filesystem {rootfs}: {e.strerror or e}{hint}") from e
    for m in spec.mounts:
        mount_one(rootfs, bundle, m, cgroup_sources=cgroup_sources)
    devices.populate(rootfs, spec.linux.devices, bind=in_userns)
    if spec.process is not None and spec.process.cwd != "/":
        make_cwd(rootfs, spec.process.cwd)


def make_cwd(rootfs: str, cwd: str) -> None:
    """Make the init's working directory when the rootfs lacks it (mode 0755, owned by root), as runc does,
    before the root can become read-only: a config may name one its image does not have."""
    try:
        paths.make_target(rootfs, cwd, directory=True)
    except OSError as e:
        raise MountError(f"making the working directory {cwd}: {e.strerror or e}") from e


def enter(spec: Spec, rootfs: str) -> None:
    """Make ``rootfs`` the root: pivot_root in the container's mount namespace, chroot without one (as runc:
    pivot_root would move the runtime's own root)."""
    if spec.linux.namespace("mount") is not None:
        pivot(rootfs)
        return
    try:
        os.chroot(rootfs)
        os.chdir("/")
    except OSError as e:
        raise MountError(f"chroot into {rootfs}: {e.strerror or e}") from e


def unmount_under(rootfs: str) -> None:
    """Detach every mount at or below ``rootfs`` in this mount namespace (deepest first): what a container
    without a mount namespace of its own mounted in ours."""
    base = os.path.realpath(rootfs) if rootfs else ""
    if not base or base == "/":
        return
    try:
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4].replace("\\040", " ") for line in f]
    except OSError:
        return
    for point in sorted((p for p in points if p == base or p.startswith(base + "/")), key=len, reverse=True):
        try:
            S.umount2(point, S.MNT_DETACH)
        except OSError as e:
            if e.errno not in (errno.EINVAL, errno.ENOENT):
                log.warning("unmounting %s: %s", point, e.strerror)


def pivot(rootfs: str) -> None:
    """Make ``rootfs`` the root: pivot_root(".", ".") then detach the old root stacked below."""
    try:
        os.chdir(rootfs)
        S.pivot_root(".", ".")
        # The old root is now mounted on top of "/"; make sure unmounting it cannot propagate, then detach.
        S.mount(None, ".", None, S.MS_SLAVE | S.MS_REC)
        S.umount2(".", S.MNT_DETACH)
        os.chdir("/")
    except OSError as e:
        raise MountError(f"pivot_root into {rootfs}: {e.strerror or e}") from e


def _open_inside(path: str, doing: str) -> int | None:
    """An O_PATH fd on ``path`` inside the container (after pivot), or None when it does not exist."""
    try:
        return os.open(paths.secure_join("/", path), os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise MountError(f"{doing} {path}: {e.strerror}") from e


def mask(path: str) -> None:
    """Hide ``path`` (inside the container, after pivot): /dev/null over a file, a ro tmpfs over a dir."""
    fd = _open_inside(path, "masking")
    if fd is None:
        return
    with paths.via_fd(fd) as t:
        try:
            if os.path.isdir(t):
                S.mount("tmpfs", t, "tmpfs", S.MS_RDONLY, "size=0,mode=755")
            else:
                S.mount("/dev/null", t, None, S.MS_BIND)
        except OSError as e:
            raise MountError(f"masking {path}: {e.strerror or e}") from e


def readonly(path: str) -> None:
    """Make ``path`` (inside the container) a read-only bind of itself."""
    fd = _open_inside(path, "making read-only")
    if fd is None:
        return
    with paths.via_fd(fd) as t:
        try:
            S.mount(t, t, None, S.MS_BIND | S.MS_REC)
        except OSError as e:
            raise MountError(f"making {path} read-only: {e.strerror or e}") from e
    fd = _open_inside(path, "making read-only")  # the bind mount now stands there: remount that
    if fd is None:
        raise MountError(f"making {path} read-only: it vanished after the bind mount")
    with paths.via_fd(fd) as t:
        try:
            remount_bind(t, S.MS_RDONLY)
        except OSError as e:
            raise MountError(f"making {path} read-only: {e.strerror or e}") from e


def finish(spec: Spec) -> None:
    """After pivot_root: masked and read-only paths, read-only root, rootfs propagation."""
    for p in spec.linux.masked_paths:
        mask(p)
    for p in spec.linux.readonly_paths:
        readonly(p)
    if spec.root_readonly:
        try:
            remount_bind("/", S.MS_RDONLY)
        except OSError as e:
            raise MountError(f"making the root filesystem read-only: {e.strerror or e}") from e
    if spec.linux.rootfs_propagation:
        try:
            S.mount(None, "/", None, PROPAGATION[spec.linux.rootfs_propagation])
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise MountError(f"setting rootfs propagation {spec.linux.rootfs_propagation}: {e.strerror}") from e
