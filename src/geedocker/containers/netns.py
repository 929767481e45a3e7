"""The container's network namespace, before its process starts: bring loopback up (docker's ``none``).

The calling thread enters the namespace with setns(2) (network namespaces are per thread), flips
IFF_UP on ``lo`` with two ioctls, and returns to its own namespace: no fork, no netlink library.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

from geedocker.errors import NetworkError
from geedocker.runtime import syscalls

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: the name, then ifr_flags in the union


def loopback_up(pid: int) -> None:
    """Bring ``lo`` up in the network namespace of process ``pid``."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise NetworkError(f"opening the network namespace of pid {pid}: {e.strerror}") from None
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino == os.fstat(own).st_ino:
                return  # the host's namespace: not ours to change
            syscalls.setns(target, syscalls.CLONE_NEWNET)
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    got = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0))
                    flags = struct.unpack(_IFREQ, got)[1]
                    if not flags & IFF_UP:
                        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | IFF_UP))
            except OSError as e:
                raise NetworkError(f"bringing up loopback in the container's network namespace: {e.strerror}") from None
            finally:
                syscalls.setns(own, syscalls.CLONE_NEWNET)
        finally:
            os.close(target)
    finally:
        os.close(own)
