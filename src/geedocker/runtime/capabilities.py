"""Capability names (``CAP_SYS_ADMIN``) to numbers and bit masks, and applying a spec's five sets.

In the container's init: ``drop_bounding`` before the user switch (it needs CAP_SETPCAP), then, after
the switch (made with PR_SET_KEEPCAPS), ``apply`` sets effective/permitted/inheritable with capset and
raises the ambient set.
"""

from __future__ import annotations

import errno

from geedocker.errors import ContainerError
from geedocker.runtime import syscalls

NAMES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip
NUMBERS: dict[str, int] = {n: i for i, n in enumerate(NAMES)}
# Docker's default set for a container that asks for no other (moby's oci/caps/defaults.go).
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
)  # fmt: skip


class CapabilityError(ContainerError):
    """An unknown capability name, or the kernel refused a capability change."""


_last_cap: list[int] = []  # the kernel's, read once


def last_cap() -> int:
    if not _last_cap:
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                _last_cap.append(int(f.read().strip()))
        except (OSError, ValueError):
            _last_cap.append(len(NAMES) - 1)
    return _last_cap[0]


def number(name: str) -> int:
    """``CAP_SYS_ADMIN``, ``SYS_ADMIN`` or ``sys_admin`` -> 21."""
    key = name.upper()
    if not key.startswith("CAP_"):
        key = "CAP_" + key
    try:
        return NUMBERS[key]
    except KeyError as e:
        raise CapabilityError(f"unknown capability {name!r}") from e


def mask(names: tuple[str, ...] | list[str]) -> int:
    m = 0
    for n in names:
        m |= 1 << number(n)
    return m


def names(m: int) -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"CAP_{i}" for i in range(64) if m >> i & 1]


def drop_bounding(bounding: int) -> None:
    """Drop every capability not in ``bounding`` from the bounding set (needs CAP_SETPCAP)."""
    for cap in range(last_cap() + 1):
        if not bounding >> cap & 1:
            try:
                syscalls.prctl(syscalls.PR_CAPBSET_DROP, cap)
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise CapabilityError(f"dropping {NAMES[cap] if cap < len(NAMES) else cap} "
                                          f"from the bounding set: {e.strerror}") from e


def bounding_now() -> int:
    """This thread's bounding set as a mask: ``CapBnd`` of /proc/thread-self/status, else asked cap by cap."""
    try:
        with open("/proc/thread-self/status", "rb") as f:
            for line in f:
                if line.startswith(b"CapBnd:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return bounding_by_prctl()


def bounding_by_prctl() -> int:
    """This thread's bounding set, one PR_CAPBSET_READ per capability (without /proc)."""
    m = 0
    for cap in range(last_cap() + 1):
        try:
            if syscalls.prctl(syscalls.PR_CAPBSET_READ, cap) == 1:
                m |= 1 << cap
        except OSError:
            break
    return m


def apply(effective: int, permitted: int, inheritable: int, ambient: int) -> None:
    """Set the effective, permitted and inheritable sets with capset, then raise the ambient ones."""
    known = (1 << (last_cap() + 1)) - 1
    try:
        syscalls.capset(effective & known, permitted & known, inheritable & known)
    except OSError as e:
        raise CapabilityError(f"setting capabilities (effective {names(effective)}): {e.strerror}") from e
    syscalls.prctl(syscalls.PR_CAP_AMBIENT, syscalls.PR_CAP_AMBIENT_CLEAR_ALL)
    for cap in range(last_cap() + 1):
        if ambient >> cap & 1:
            try:
                syscalls.prctl(syscalls.PR_CAP_AMBIENT, syscalls.PR_CAP_AMBIENT_RAISE, cap)
            except OSError as e:
                raise CapabilityError(f"raising ambient {NAMES[cap]} (it must be permitted and inheritable): "
                                      f"{e.strerror}") from e
