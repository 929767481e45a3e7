"""The caller's terminal in raw mode for ``-it``: input typed before keeps (TCSANOW, as docker)."""

from __future__ import annotations

import os
import pty
import termios

from geedocker.containers.console import raw_mode


def test_raw_mode_keeps_what_was_typed_before() -> None:
    master, slave = pty.openpty()
    try:
        os.write(master, b"typed early\n")  # queued on the terminal while it is still in canonical mode
        saved = raw_mode(slave)
        attrs = termios.tcgetattr(slave)
        assert not attrs[3] & (termios.ICANON | termios.ECHO)  # raw now
        assert os.read(slave, 100) == b"typed early\n"  # TCSAFLUSH (tty.setraw's default) would have dropped it
        termios.tcsetattr(slave, termios.TCSANOW, saved)
        assert termios.tcgetattr(slave)[3] & termios.ICANON
    finally:
        os.close(master)
        os.close(slave)
