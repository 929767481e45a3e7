"""Attaching an API client to a container that already runs: a relay between the hijacked connection and the
attach socket of the container's monitor (``containers.attachment``), the channel ``geedocker attach`` uses.

The client's bytes become input frames (only for a ``-i`` container that asked for stdin, as dockerd gives
stdin to no other); the monitor's output frames go back in docker's framing, or raw with a TTY. With a TTY the
detach keys are looked for in the input, as dockerd does (and only then): typed, they end the stream and the
container goes on. The window size is not relayed: the client sets it through ``/containers/{id}/resize``.
"""

from __future__ import annotations

import select
import socket

from geedocker.api import streams
from geedocker.containers import attachment

READ_SIZE = 65536


def relay(client: socket.socket, tail: bytes, monitor: socket.socket, *, stdin: bool, tty: bool,
          outputs: tuple[int, ...], keys: bytes) -> bool:  # fmt: skip
    """Relay until the container's output ends (False) or the client typed the detach keys (True); a client
    that goes away ends it too (False). ``stdin``: the client's bytes go to the container."""
    scanner = attachment.EscapeScanner(keys) if tty and stdin and keys else None
    reader = attachment.FrameReader()

    def to_container(data: bytes) -> bool:
        """Pass typed input on; True when it held the detach keys."""
        detach = False
        if scanner is not None:
            data, detach = scanner.feed(data)
        if data:
            monitor.sendall(attachment.frame(attachment.INPUT, data))
        return detach

    if stdin and tail and to_container(tail):
        return True
    cfd, mfd = client.fileno(), monitor.fileno()
    poller = select.poll()
    poller.register(mfd, select.POLLIN)
    # Without stdin the client's bytes are not read, but its hang-up still ends the relay: a client that went away
    # while the container is quiet must not keep a thread and a monitor connection for the container's lifetime.
    poller.register(cfd, select.POLLIN if stdin else 0)
    while True:
        try:
            events = poller.poll()
        except InterruptedError:
            continue
        for fd, ev in events:
            if fd == cfd:
                if not ev & select.POLLIN:  # POLLHUP or POLLERR alone: the client is gone
                    return False
                try:
                    data = client.recv(READ_SIZE)
                except OSError:
                    return False
                if not data:
                    # The client closed its input (docker's CLI does at its stdin's EOF) and reads on: the
                    # container keeps its stdin open, as dockerd does for an attach after the start.
                    poller.modify(cfd, 0)
                    continue
                try:
                    if to_container(data):
                        return True
                except OSError:
                    return False  # the monitor is gone: the container stopped
                continue
            try:
                data = monitor.recv(READ_SIZE)
            except OSError:
                data = b""
            if not data:
                return False  # the container's output ended
            for kind, payload in reader.feed(data):
                stream = kind[0]
                if stream not in outputs:
                    continue
                try:
                    client.sendall(payload if tty else streams.frame(stream, payload))
                except OSError:
                    return False
