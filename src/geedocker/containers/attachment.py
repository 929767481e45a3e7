"""Attaching to a running container's terminal or input: the channel between its monitor and ``attach``.

A container started with ``-t`` or ``-i`` has a monitor that listens on a unix socket in the run dir. An
``attach`` (or a second terminal) connects to it: its keystrokes and window size go to the container, the
container's output comes back. Both directions carry frames: a kind byte, a 4-byte big-endian length, the
payload. To the monitor: ``i`` (input bytes) and ``w`` (window size, rows and columns). From it: 1 (stdout) and 2
(stderr), as docker's multiplexed streams number them. The monitor closes every connection when the container's
output ends; the client then takes the exit status from the record.

Detach keys (docker's ``--detach-keys``, default ctrl-p,ctrl-q) are recognised by whoever reads the keyboard:
``EscapeScanner`` holds back a partial sequence and lets it through as soon as a key does not continue it.
"""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path

from geedocker.errors import GeeDockerError
from geedocker.procs import write_all
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING; socket is imported where used: parsing keys needs none of it
if TYPE_CHECKING:
    import socket

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
INPUT = b"i"
WINDOW = b"w"
STDOUT = 1
STDERR = 2
MAX_PENDING = 4 * 1024 * 1024  # output a client has not read yet; past it the client is dropped
_HEADER = struct.Struct(">cI")


class DetachKeysError(GeeDockerError):
    """A ``--detach-keys`` value docker would refuse."""

    exit_code = 1


def socket_path(layout: Layout, cid: str) -> Path:
    return layout.run / f"attach-{cid[:16]}.sock"  # short: a unix socket path has 108 bytes at most


def parse_detach_keys(spec: str) -> bytes:
    """Docker's key sequence syntax: comma-separated keys, each a single character, ``ctrl-X`` (X a lower-case
    letter or one of ``@[\\]^_``) or ``DEL``."""
    out = bytearray()
    for key in spec.split(","):
        if len(key.encode()) == 1:
            out += key.encode()
        elif key == "DEL":
            out.append(127)
        elif len(key) == 6 and key.startswith("ctrl-") and ("a" <= key[5] <= "z" or key[5] in "@[\\]^_"):
            out.append(ord(key[5].upper()) - ord("@"))
        else:
            raise DetachKeysError(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


class EscapeScanner:
    """Finds the detach sequence in typed input. ``feed`` returns the bytes to pass on and whether the
    sequence was typed (the sequence itself is never passed on; what was typed before it in the same read is)."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = 0  # how many bytes of ``keys`` the input ended with (held back)

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for b in data:
            if b == self.keys[self.held]:
                self.held += 1
                if self.held == len(self.keys):
                    return bytes(out), True
                continue
            out += self.keys[: self.held]  # a key that does not continue the sequence: the held ones were typed
            self.held = 0
            if b == self.keys[0]:
                self.held = 1
                continue
            out.append(b)
        return bytes(out), False


def frame(kind: bytes, payload: bytes) -> bytes:
    return _HEADER.pack(kind, len(payload)) + payload


def window_frame(rows: int, cols: int) -> bytes:
    return frame(WINDOW, struct.pack(">HH", rows, cols))


class FrameReader:
    """Splits a byte stream into (kind, payload) frames."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        self.buf += data
        frames = []
        while len(self.buf) >= _HEADER.size:
            kind, n = _HEADER.unpack_from(self.buf)
            if len(self.buf) < _HEADER.size + n:
                break
            frames.append((kind, bytes(self.buf[_HEADER.size : _HEADER.size + n])))
            del self.buf[: _HEADER.size + n]
        return frames


def decode_window(payload: bytes) -> tuple[int, int]:
    rows, cols = struct.unpack(">HH", payload[:4])
    return int(rows), int(cols)


class Peer:
    """One attached client, as the monitor sees it: its socket, what it sent, what it has not read yet."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = FrameReader()
        self.pending = bytearray()

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, stream: int, data: bytes) -> bool:
        """Queue output for the client and write what it takes now; False when it is too far behind (drop it)."""
        self.pending += frame(bytes([stream]), data)
        return self.flush()

    def flush(self) -> bool:
        while self.pending:
            try:
                n = self.sock.send(self.pending)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                return False
            del self.pending[:n]
        return len(self.pending) <= MAX_PENDING

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class Listener:
    """The monitor's listening socket (mode 0600: root's containers are root's to attach to)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        import socket

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o177)
        try:
            self.sock.bind(str(path))
        finally:
            os.umask(old)
        self.sock.listen(16)
        self.sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def accept(self) -> Peer | None:
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return None
        conn.setblocking(False)
        return Peer(conn)

    def close(self, *, unlink: bool = True) -> None:
        """Stop listening; ``unlink=False`` in a process that hands the socket to another (detach)."""
        self.sock.close()
        if unlink:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def connect(path: Path) -> socket.socket | None:
    """A connection to a monitor's attach socket, or None when none listens there."""
    import socket

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        s.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        s.close()
        return None
    return s


def relay(sock: socket.socket, *, stdin: bool, tty: bool, keys: bytes) -> bool:
    """The client's side: our input to the container (raw, with the detach keys, when it has a terminal), its
    output to our stdout/stderr, our window size to its terminal. Returns True when the user detached, False
    when the container's output ended or our input did (docker then stops showing output; the caller waits
    for the exit)."""
    import fcntl
    import select
    import signal
    import termios

    raw = stdin and tty and os.isatty(0)
    saved = termios.tcgetattr(0) if raw else None
    wake_r, wake_w = os.pipe()
    old_winch = None
    scanner = EscapeScanner(keys) if tty and stdin else None
    reader = FrameReader()

    def window() -> tuple[int, int] | None:
        try:
            rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(1, termios.TIOCGWINSZ, b"\0" * 8))
        except OSError:
            return None
        return rows, cols

    def on_winch(_signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            os.write(wake_w, b"\0")

    try:
        if tty and os.isatty(1):
            size = window()
            if size is not None:
                # as docker: one size off first, so that the program redraws even when the size is unchanged
                sock.sendall(window_frame(size[0] + 1, size[1] + 1) + window_frame(*size))
            old_winch = signal.signal(signal.SIGWINCH, on_winch)
        if raw:
            import tty as tty_

            tty_.setraw(0)
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        poller.register(wake_r, select.POLLIN)
        if stdin:
            poller.register(0, select.POLLIN)
        while True:
            try:
                events = poller.poll()
            except InterruptedError:
                continue
            for fd, _ in events:
                if fd == wake_r:
                    os.read(wake_r, 64)
                    size = window()
                    if size is not None:
                        sock.sendall(window_frame(*size))
                    continue
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if fd == sock.fileno():
                    if not data:
                        return False
                    for kind, payload in reader.feed(data):
                        with contextlib.suppress(OSError):
                            write_all(STDERR if kind[0] == STDERR and not tty else 1, payload)
                    continue
                if not data:  # our input ended
                    return False
                detach = False
                if scanner is not None:
                    data, detach = scanner.feed(data)
                if data:
                    try:
                        sock.sendall(frame(INPUT, data))
                    except OSError:
                        return False
                if detach:
                    return True
    finally:
        if saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(0, termios.TCSADRAIN, saved)
        if old_winch is not None:
            signal.signal(signal.SIGWINCH, old_winch)
        os.close(wake_r)
        os.close(wake_w)


