"""What the monitor carries between a running container and its callers (``Streams``, which ``Supervisor``
extends): the container's output to its json-file log, to an attached caller's stdio or terminal (or the
builder's ``output``) and to the clients of its attach socket; their input (and the detach keys) to its terminal
or stdin. Apart from ``containers.supervisor``, which launches the container and records its end, because
copying bytes is a job of its own.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import struct

from geedocker.containers.record import ContainerRecord
from geedocker.containers.store import event
from geedocker.entrypoint import collect_cycles
from geedocker.logger import get_logger
from geedocker.procs import write_all
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from geedocker.containers.attachment import EscapeScanner, Listener, Peer
    from geedocker.containers.logs import JsonLogWriter

log = get_logger(__name__)


class Streams:
    """The container's stdio as its monitor holds it: the output pipes or the pty master, the held stdin, the
    log, the attach socket and its clients, the attached caller."""

    def __init__(self, layout: Layout, rec: ContainerRecord, *, attach: bool,
                 output: Callable[[str, bytes], None] | None = None, attach_stdin: bool | None = None,
                 detach_keys: bytes = b"\x10\x11") -> None:
        self.layout = layout
        self.output = output  # gets the output instead of our stdout/stderr (the builder's RUN)
        self.rec = rec
        self.attach = attach
        self.master: int | None = None  # pty master (tty mode)
        self.out_r: int | None = None
        self.err_r: int | None = None
        self.stdin_w: int | None = None  # held open for -d -i so the container's stdin stays open
        self.log: JsonLogWriter | None = None
        self.log_report = ""  # what the log could not write (JsonLogWriter.report), kept in the record at exit
        self.saved_tty: Any = None
        self.on_detach: Callable[[], None] | None = None  # tells the attached caller it is detached
        self.alive: int | None = None  # an attached caller's pipe: EOF when it is gone (see run_attached)
        # the caller's stdin goes to the container (run -i, start -ai); start -a without -i leaves it out
        self.attach_stdin = attach and rec.options.interactive if attach_stdin is None else attach_stdin
        self.detach_keys = detach_keys
        self.detached = False  # the user typed the detach keys (the caller is told, then let go)
        self.listener: Listener | None = None  # attach socket (-t or -i containers)
        self.peers: dict[int, Peer] = {}

    def _listen(self) -> None:
        """The attach socket, so that ``attach`` can reach the container's terminal or input."""
        from geedocker.containers import attachment  # -t/-i containers only: it loads socket

        try:
            self.listener = attachment.Listener(attachment.socket_path(self.layout, self.rec.id))
        except OSError as e:  # the container still runs; only attaching its input is not possible
            log.warning("container %s: no attach socket: %s", self.rec.id[:12], e)

    def _close_streams(self) -> None:
        """The output pipes, the pty master, the held stdin, the log, the attach socket and its clients."""
        for peer in self.peers.values():
            peer.close()
        self.peers = {}
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        for fd in (self.out_r, self.err_r, self.master, self.stdin_w):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.out_r = self.err_r = self.master = self.stdin_w = None
        if self.log is not None:
            self.log.close()
            self.log_report = self.log.report()
            self.log = None

    def _resize(self, *, announce: bool = True) -> tuple[int, int] | None:
        """The attached caller's window size to the container's terminal: (rows, columns) when set, and a
        ``resize`` event unless not ``announce`` (the first size is set before the start, whose event comes
        first in docker's journal: its CLI resizes once the container runs)."""
        if self.master is None or not self.attach or not os.isatty(0):
            return None
        import termios  # tty mode only

        try:
            size = fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)
        except OSError:
            return None
        rows, cols = struct.unpack("HHHH", size)[:2]
        if announce:
            self._resized(rows, cols)
        return rows, cols

    def _resized(self, rows: int, cols: int) -> None:
        """docker's ``resize`` event: dockerd logs one for each resize of a container's terminal."""
        event(self.layout, self.rec, "resize", height=str(rows), width=str(cols))

    def pump(self) -> None:
        """Copy the container's output until it closes it (and the user's input to a tty)."""
        collect_cycles()  # we stay up as long as the container does
        poller = select.poll()
        attach = self.rec.options.attach  # run -a: the output streams shown (all when none is named)
        streams: dict[int, str] = {}  # fd -> "stdout", "stderr", "stdin", "caller", "listen" or "peer"
        scanner: EscapeScanner | None = None
        if self.master is not None:
            streams[self.master] = "stdout"
            if self.attach and self.attach_stdin:
                streams[0] = "stdin"
                from geedocker.containers.attachment import EscapeScanner  # tty only: it loads socket

                scanner = EscapeScanner(self.detach_keys)  # docker recognises the keys only with a tty
                if os.isatty(0):
                    from geedocker.containers.console import raw_mode  # tty mode only

                    self.saved_tty = raw_mode(0)
        for fd in (self.out_r, self.err_r):
            if fd is not None:
                streams[fd] = "stdout" if fd == self.out_r else "stderr"
        if self.alive is not None:
            streams[self.alive] = "caller"
        if self.listener is not None:
            streams[self.listener.fileno()] = "listen"
        for fd in self.peers:
            streams[fd] = "peer"
        for fd in streams:
            poller.register(fd, select.POLLIN)
        outputs = sum(1 for name in streams.values() if name in ("stdout", "stderr"))

        def drop(fd: int) -> None:
            with contextlib.suppress(KeyError):
                poller.unregister(fd)
            streams.pop(fd, None)
            peer = self.peers.pop(fd, None)
            if peer is not None:
                peer.close()
        try:
            while outputs:
                try:
                    events = poller.poll()
                except InterruptedError:
                    continue
                for fd, ev in events:
                    name = streams.get(fd)
                    if name is None:
                        continue
                    if name == "caller":  # the attached caller died: stop using its stdio, go on alone
                        for f in [f for f, n in streams.items() if n in ("caller", "stdin")]:
                            poller.unregister(f)
                            del streams[f]
                        self._caller_gone()
                        continue
                    if name == "listen":
                        assert self.listener is not None
                        peer = self.listener.accept()
                        if peer is not None:
                            self.peers[peer.fileno()] = peer
                            streams[peer.fileno()] = "peer"
                            poller.register(peer.fileno(), select.POLLIN)
                        continue
                    if name == "peer" and ev & select.POLLOUT and not ev & (select.POLLIN | select.POLLHUP):
                        peer = self.peers[fd]
                        if not peer.flush():
                            drop(fd)
                        elif not peer.pending:
                            poller.modify(fd, select.POLLIN)
                        continue
                    try:
                        data = os.read(fd, 65536)
                    except OSError as e:
                        if e.errno in (errno.EINTR, errno.EAGAIN):
                            continue
                        data = b""  # EIO on a pty master: the container closed the terminal
                    if not data:
                        if name == "peer":
                            drop(fd)
                            continue
                        poller.unregister(fd)
                        del streams[fd]
                        if name in ("stdout", "stderr"):
                            outputs -= 1
                        continue
                    if name == "stdin":
                        assert scanner is not None
                        data, detach = scanner.feed(data)
                        self._to_container(data)
                        if detach:  # the caller is told (run_attached) and let go; the container goes on
                            for f in [f for f, n in streams.items() if n in ("caller", "stdin")]:
                                poller.unregister(f)
                                del streams[f]
                            self.detached = True
                            event(self.layout, self.rec, "detach")  # as dockerd, when the keys end an attach
                            if self.on_detach is not None:
                                self.on_detach()
                            self._caller_gone()
                        continue
                    if name == "peer":
                        self._from_peer(self.peers[fd], data)
                        continue
                    if self.log is not None:
                        self.log.write(name, data)
                    if self.output is not None:
                        self.output(name, data)
                    elif self.attach and (not attach or name in attach):  # -a: these streams only
                        with contextlib.suppress(OSError):
                            write_all(2 if name == "stderr" and self.master is None else 1, data)
                    for pfd, peer in list(self.peers.items()):
                        if not peer.send(2 if name == "stderr" else 1, data):
                            drop(pfd)
                        elif peer.pending:
                            poller.modify(pfd, select.POLLIN | select.POLLOUT)
        finally:
            self._restore_tty()

    def _to_container(self, data: bytes) -> None:
        """Input for the container: its terminal, or the stdin pipe a ``-i`` monitor holds."""
        target = self.master if self.master is not None else self.stdin_w
        if target is not None and data:
            with contextlib.suppress(OSError):  # it closed its input: what the user types goes nowhere
                write_all(target, data)

    def _from_peer(self, peer: Peer, data: bytes) -> None:
        from geedocker.containers import attachment

        for kind, payload in peer.reader.feed(data):
            if kind == attachment.INPUT:
                self._to_container(payload)
            elif kind == attachment.WINDOW and self.master is not None:
                import termios  # tty mode only

                rows, cols = attachment.decode_window(payload)
                try:
                    fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                except OSError:
                    continue
                self._resized(rows, cols)

    def _restore_tty(self) -> None:
        if self.saved_tty is not None:
            import termios

            with contextlib.suppress(termios.error):
                termios.tcsetattr(0, termios.TCSADRAIN, self.saved_tty)
            self.saved_tty = None

    def _caller_gone(self) -> None:
        """The attached caller is gone: its terminal back as it was, its stdio let go; the log goes on."""
        self._restore_tty()
        if self.alive is not None:
            os.close(self.alive)
            self.alive = None
        self.attach = False
        detach_stdio()


def detach_stdio() -> None:
    """Let go of the caller's stdio (its terminal or pipes): output goes to the log only from now on."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
