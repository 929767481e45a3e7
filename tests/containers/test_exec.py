"""``exec`` joins the running container: its pid namespace, files, env; -e -w -u; exit codes."""

from __future__ import annotations

import pytest

from tests.containers.conftest import Engine

pytestmark = pytest.mark.root


@pytest.fixture
def running(engine: Engine) -> str:
    r = engine.run(
        "sh", "-c", "echo secret > /tmp/made-by-init; exec sleep 120",
        flags=("-d", "--name", "box", "-e", "FROM_RUN=1"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    made = ("exec", "box", "test", "-f", "/tmp/made-by-init")
    engine.wait_for("the init's file", lambda: engine.cli(*made).returncode == 0)
    return r.stdout.strip()


def test_exec_sees_the_pid_namespace_and_files(engine: Engine, running: str) -> None:
    script = "cat /tmp/made-by-init; cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$"
    r = engine.cli("exec", "box", "sh", "-c", script)
    lines = r.stdout.splitlines()
    assert lines[0] == "secret"
    assert lines[1].strip() == "sleep 120"
    assert int(lines[2]) > 1  # a new process in the same pid namespace
    ps = engine.cli("exec", "box", "ps", "-o", "pid,comm").stdout
    assert "sleep" in ps and len(ps.splitlines()) == 3  # header, sleep, ps


def test_exec_shares_hostname_and_mount_namespace(engine: Engine, running: str) -> None:
    assert engine.cli("exec", "box", "hostname").stdout.strip() == running[:12]
    engine.cli("exec", "box", "sh", "-c", "echo from exec > /tmp/x")
    assert engine.cli("exec", "box", "cat", "/tmp/x").stdout == "from exec\n"


def test_exec_env_workdir_user(engine: Engine, running: str) -> None:
    script = 'echo "$FROM_RUN $EXTRA $(pwd) $(id -u)"'
    r = engine.cli("exec", "-e", "EXTRA=2", "-w", "/home", "-u", "app", "box", "sh", "-c", script)
    assert r.stdout == "1 2 /home 1000\n", r.stderr


def test_exec_exit_codes_and_stdin(engine: Engine, running: str) -> None:
    assert engine.cli("exec", "box", "sh", "-c", "exit 5").returncode == 5
    assert engine.cli("exec", "-i", "box", "cat", input="in\n").stdout == "in\n"
    r = engine.cli("exec", "box", "nosuchcmd")
    assert r.returncode == 127


def test_exec_detached(engine: Engine, running: str) -> None:
    assert engine.cli("exec", "-d", "box", "sh", "-c", "echo bg > /tmp/bg").returncode == 0
    engine.wait_for("the detached exec", lambda: engine.cli("exec", "box", "cat", "/tmp/bg").stdout == "bg\n")


def test_exec_into_a_stopped_container_fails(engine: Engine) -> None:
    engine.run("true", flags=("--name", "done"))
    r = engine.cli("exec", "done", "true")
    assert r.returncode == 1 and "is not running" in r.stderr  # docker: a daemon-side error
    r = engine.cli("exec", "nosuch", "true")
    assert r.returncode == 1 and "Error response from daemon: No such container: nosuch" in r.stderr


@pytest.mark.parametrize("interactive", [True, False], ids=["-i", "no -i"])
def test_a_process_left_by_exec_cannot_use_the_callers_terminal(engine: Engine, running: str,
                                                                interactive: bool) -> None:
    """Without -t the command gets pipes that geedocker relays: after exec returns, a process it left in the
    container can neither read what is typed on the caller's terminal nor write to it."""
    import os
    import select
    import time

    master, slave = os.openpty()
    try:
        script = "(sleep 1; cat > /tmp/stolen) & (sleep 1.5; echo LATE-WRITE) & echo started"
        p = engine.popen("exec", *(["-i"] if interactive else []), "box", "sh", "-c", script,
                         stdin=slave, stdout=slave, stderr=slave)
        assert p.wait(timeout=20) == 0  # returns when sh exits, not when its leftovers do
        time.sleep(0.3)
        os.write(master, b"typed-secret\n")
        time.sleep(2.5)
        seen = b""
        while select.select([master], [], [], 0)[0]:
            seen += os.read(master, 65536)
        assert b"started" in seen
        assert b"LATE-WRITE" not in seen
        stolen = engine.cli("exec", "box", "cat", "/tmp/stolen")
        assert "typed-secret" not in stolen.stdout
    finally:
        os.close(master)
        os.close(slave)


def test_exec_output_and_input_go_through_the_relay(engine: Engine, running: str) -> None:
    r = engine.cli("exec", "-i", "box", "sh", "-c", "tr a-z A-Z; echo err >&2; exit 4", input="piped text\n")
    assert (r.returncode, r.stdout, r.stderr) == (4, "PIPED TEXT\n", "err\n")
    big = engine.cli("exec", "box", "sh", "-c", "yes 0123456789 | head -c 3000000")
    assert big.returncode == 0 and len(big.stdout) == 3000000
