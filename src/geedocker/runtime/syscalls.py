"""The one ctypes module: Linux system calls the standard library does not offer.

Each wrapper raises ``OSError(errno, "<call> <args>: <strerror>")`` naming the call and its main
arguments. Everything else (mknod, setgroups, pidfd_open, sethostname, closerange) comes from ``os`` /
``socket``.
"""

from __future__ import annotations

import ctypes
import os

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

# clone / unshare / setns flags
CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount(2) flags
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25

# umount2(2) flags
MNT_FORCE = 1
MNT_DETACH = 2
MNT_EXPIRE = 4
UMOUNT_NOFOLLOW = 8

# prctl(2) options
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc: Any = None


def _lib() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(ret: int, what: str) -> int:
    if ret == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def _b(s: str | os.PathLike[str] | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def unshare(flags: int) -> None:
    _check(_lib().unshare(ctypes.c_int(flags)), f"unshare(0x{flags:x})")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_lib().setns(ctypes.c_int(fd), ctypes.c_int(nstype)), f"setns(fd {fd}, 0x{nstype:x})")


def mount(
    source: str | os.PathLike[str] | None,
    target: str | os.PathLike[str],
    fstype: str | None,
    flags: int = 0,
    data: str | None = None,
) -> None:
    ret = _lib().mount(
        ctypes.c_char_p(_b(source)),
        ctypes.c_char_p(_b(target)),
        ctypes.c_char_p(None if fstype is None else fstype.encode()),
        ctypes.c_ulong(flags),
        ctypes.c_char_p(None if not data else data.encode()),
    )
    _check(ret, f"mount {source or 'none'} on {os.fspath(target)} (type {fstype}, flags 0x{flags:x}, data {data!r})")


def umount2(target: str | os.PathLike[str], flags: int = 0) -> None:
    _check(_lib().umount2(ctypes.c_char_p(_b(target)), ctypes.c_int(flags)), f"umount2 {os.fspath(target)}")


def statfs_type(path: str | os.PathLike[str]) -> int:
    """``statfs(2)``'s f_type: the magic number of the filesystem ``path`` is on (``os.statvfs`` lacks it)."""
    buf = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit Linux; f_type comes first
    _check(_lib().statfs(ctypes.c_char_p(_b(path)), buf), f"statfs {os.fspath(path)}")
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF


def pivot_root(new_root: str | os.PathLike[str], put_old: str | os.PathLike[str]) -> None:
    ret = _lib().pivot_root(ctypes.c_char_p(_b(new_root)), ctypes.c_char_p(_b(put_old)))
    _check(ret, f"pivot_root {os.fspath(new_root)} {os.fspath(put_old)}")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    ret = _lib().prctl(
        ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(arg4), ctypes.c_ulong(arg5)
    )
    return _check(int(ret), f"prctl({option}, {arg2})")


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_lib().setdomainname(ctypes.c_char_p(raw), ctypes.c_size_t(len(raw))), f"setdomainname {name!r}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def capget(pid: int = 0) -> tuple[int, int, int]:
    """(effective, permitted, inheritable) of ``pid`` (0: this thread) as 64-bit masks."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, pid)
    data = (_CapData * 2)()
    _check(_lib().capget(ctypes.byref(hdr), data), f"capget({pid})")
    return (
        data[0].effective | (data[1].effective << 32),
        data[0].permitted | (data[1].permitted << 32),
        data[0].inheritable | (data[1].inheritable << 32),
    )


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set this thread's effective, permitted and inheritable sets (64-bit masks)."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i, shift in enumerate((0, 32)):
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_lib().capset(ctypes.byref(hdr), data), "capset")
