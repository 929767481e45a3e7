"""``-t`` and ``-it``: the container gets a terminal sized like ours; input reaches it; exit codes pass."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import time

import pytest

from tests.containers.conftest import Engine

pytestmark = pytest.mark.root


def run_on_pty(engine: Engine, *args: str, keys: bytes = b"", rows: int = 30, cols: int = 100) -> tuple[bytes, int]:
    """Run the CLI with a pty as its controlling terminal; type ``keys``; all output and the exit code."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    p = subprocess.Popen(
        engine.argv(*args), stdin=slave, stdout=slave, stderr=slave, env=engine.env, start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )  # fmt: skip
    os.close(slave)
    out = b""
    try:
        if keys:
            deadline = time.monotonic() + 15
            while b"# " not in out and time.monotonic() < deadline:  # the shell's prompt
                if select.select([master], [], [], 0.5)[0]:
                    out += os.read(master, 4096)
            os.write(master, keys)
        while True:
            if not select.select([master], [], [], 20)[0]:
                break
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        return out, p.wait(timeout=20)
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()


def test_tty_has_our_window_size(engine: Engine) -> None:
    script = "tty; stty size; echo $TERM"
    out, code = run_on_pty(engine, "run", "--rm", "-t", "--rootfs", str(engine.layer), "sh", "-c", script)
    assert code == 0
    assert out.replace(b"\r", b"").split(b"\n")[:3] == [b"/dev/pts/0", b"30 100", b"xterm"]


def test_interactive_shell(engine: Engine) -> None:
    out, code = run_on_pty(
        engine, "run", "--rm", "-it", "--rootfs", str(engine.layer), "sh", keys=b"echo $((6*7))\nexit 5\n"
    )
    assert code == 5
    assert b"42\r\n" in out


def test_detached_tty_output_is_logged(engine: Engine) -> None:
    r = engine.run("sh", "-c", "tty; echo done", flags=("-dt", "--name", "dtty"))
    assert r.returncode == 0, r.stderr
    assert engine.cli("wait", "dtty").stdout == "0\n"
    assert engine.cli("logs", "dtty").stdout.replace("\r", "").split() == ["/dev/pts/0", "done"]


def test_exec_with_a_tty(engine: Engine) -> None:
    assert engine.run("sleep", "60", flags=("-d", "--name", "host")).returncode == 0
    out, code = run_on_pty(engine, "exec", "-t", "host", "sh", "-c", "tty; stty size; exit 3", rows=12, cols=34)
    assert code == 3
    lines = out.replace(b"\r", b"").split(b"\n")
    assert lines[0].startswith(b"/dev/pts/") and lines[1] == b"12 34"
