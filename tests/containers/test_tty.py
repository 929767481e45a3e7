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


def pty_session(
    engine: Engine, *args: str, steps: list[tuple[bytes, bytes | tuple[int, int]]]
) -> tuple[bytes, int | None]:
    """Run the CLI on a pty; for each step wait until the output ends with its marker (the shell's prompt),
    then type its keys (or resize the terminal to (rows, cols)). All output, and the exit code (None when it
    still runs after the last step)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    p = subprocess.Popen(
        engine.argv(*args), stdin=slave, stdout=slave, stderr=slave, env=engine.env, start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )  # fmt: skip
    os.close(slave)
    out = b""

    def read_until(marker: bytes, limit: float) -> bool:
        nonlocal out
        deadline = time.monotonic() + limit
        seen = len(out)
        while time.monotonic() < deadline:
            if marker and marker in out[seen:]:
                return True
            if select.select([master], [], [], 0.2)[0]:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    return False
                if not data:
                    return False
                out += data
        return not marker

    try:
        for marker, action in steps:
            read_until(marker, 20)
            if isinstance(action, tuple):
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", action[0], action[1], 0, 0))
            else:
                os.write(master, action)
        deadline = time.monotonic() + 20
        while p.poll() is None and time.monotonic() < deadline:
            read_until(b"", 0.2)
        read_until(b"", 0.3)
        return out, p.poll()
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()


def _status(engine: Engine, name: str) -> str:
    return engine.cli("inspect", "-f", "{{.State.Status}}", name).stdout.strip()


PROMPT = b"# "


def test_run_it_detach_then_attach_follows_the_window_and_gets_the_exit_code(engine: Engine) -> None:
    out, code = pty_session(engine, "run", "-it", "--name", "det", "--network", "none", "--rootfs", str(engine.layer),
                            "sh", steps=[(PROMPT, b"echo $((6*7))\r"), (b"42", b"\x10\x11")])  # fmt: skip
    assert code == 0 and b"42" in out and b"escape" not in out  # run -it: detached quietly, as docker
    assert _status(engine, "det") == "running"
    out, code = pty_session(engine, "attach", "det", steps=[
        (PROMPT, b"stty size\r"), (b"30 100", (40, 120)), (PROMPT, b"stty size\r"), (b"40 120", b"\x10\x11")])
    assert b"30 100\r\n" in out and b"40 120\r\n" in out
    assert code == 1 and out.endswith(b"read escape sequence\r\n")  # docker attach's words and status
    assert _status(engine, "det") == "running"
    r = engine.cli("events", "--since", "1m", "--until", "0s", "--filter", "container=det", "--format",
                   "{{.Action}} {{.Actor.Attributes.height}} {{.Actor.Attributes.width}}")  # fmt: skip
    # each terminal size the container gets is a resize (an attach sets one a row and column bigger first, so
    # that a full-screen program redraws); the detach keys end an attach with a detach
    assert r.stdout.split("\n")[:-1] == [
        "create <no value> <no value>", "attach <no value> <no value>", "start <no value> <no value>",
        "resize 30 100", "detach <no value> <no value>", "attach <no value> <no value>", "resize 31 101",
        "resize 30 100", "resize 40 120", "detach <no value> <no value>"], r.stdout
    # a key that does not complete the sequence is typed after all: ctrl-p (the shell's history) then x
    out, code = pty_session(engine, "attach", "det", steps=[(PROMPT, b"\x10x"), (b"x", b"\x15exit 4\r")])
    assert code == 4 and b"stty size" in out
    assert _status(engine, "det") == "exited"


def test_start_ai_custom_detach_keys_and_sig_proxy_off(engine: Engine) -> None:
    assert engine.cli("create", "-it", "--name", "sai", "--network", "none", "--rootfs", str(engine.layer),
                      "sh").returncode == 0  # fmt: skip
    r = engine.cli("start", "-ai", "--detach-keys", "ctrl-P", "sai")
    assert r.returncode == 1 and r.stderr.strip() == "Error: Invalid detach keys (ctrl-P) provided"
    out, code = pty_session(engine, "start", "-ai", "--detach-keys", "ctrl-x,x", "sai",
                            steps=[(PROMPT, b"echo up\r"), (b"up", b"\x18x")])  # fmt: skip
    assert code == 0 and _status(engine, "sai") == "running"
    r = engine.cli("attach", "sai")  # its input is a terminal: ours must be one
    assert r.returncode == 1 and r.stderr.strip() == "the input device is not a TTY"
    assert engine.cli("rm", "-f", "sai").returncode == 0
    # --sig-proxy=false: a signal ends the client; the container goes on
    p = engine.popen("run", "--sig-proxy=false", "--name", "nsp", "--network", "none", "--rootfs", str(engine.layer),
                     "sh", "-c", "echo started; sleep 60")  # fmt: skip
    assert p.stdout is not None and p.stdout.readline() == "started\n"
    p.send_signal(15)
    assert p.wait(timeout=20) == -15
    assert _status(engine, "nsp") == "running"


def test_attach_input_of_an_interactive_container(engine: Engine) -> None:
    assert engine.run("sh", "-c", "while read l; do echo got $l; done; echo eof",
                      flags=("-di", "--network", "none", "--name", "rd")).returncode == 0  # fmt: skip
    p = engine.popen("attach", "rd", stdin=subprocess.PIPE)
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write("one\n")
    p.stdin.flush()
    assert p.stdout.readline() == "got one\n"
    assert engine.cli("kill", "rd").returncode == 0
    assert p.wait(timeout=20) == 137  # its exit status is ours
    r = engine.cli("attach", "--no-stdin", "rd")
    assert r.returncode == 1 and "You cannot attach to a stopped container" in r.stderr
