"""``geedocker run`` attached: output, exit codes, environment, users, mounts, stdin, signals."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.containers.conftest import Engine

pytestmark = pytest.mark.root


def test_echo(engine: Engine) -> None:
    r = engine.run("echo", "hello world")
    assert (r.returncode, r.stdout, r.stderr) == (0, "hello world\n", "")


def test_stdout_and_stderr_are_kept_apart(engine: Engine) -> None:
    r = engine.run("sh", "-c", "echo out; echo err >&2")
    assert r.stdout == "out\n" and r.stderr == "err\n"


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["true"], 0),
        (["sh", "-c", "exit 3"], 3),
        (["/no/such/command"], 127),
        (["nosuchcommand"], 127),
        (["/etc/passwd"], 126),
    ],
)
def test_exit_codes(engine: Engine, argv: list[str], code: int) -> None:
    r = engine.run(*argv)
    assert r.returncode == code, r.stderr
    if code in (126, 127):
        assert r.stderr.startswith("Error: ")


def test_killed_from_outside_is_137(engine: Engine) -> None:
    p = engine.popen("run", "--name", "victim", "--rootfs", str(engine.layer), "sleep", "60")
    engine.wait_for("the container to run", lambda: "victim" in engine.cli("ps", "--format", "{{.Names}}").stdout)
    assert engine.cli("kill", "victim").returncode == 0
    assert p.wait(timeout=20) == 137


def test_env_workdir_user_hostname(engine: Engine) -> None:
    r = engine.run(
        "sh", "-c", 'echo "$FOO|$BAR|$(pwd)|$(id -u):$(id -g)|$(id -G)|$HOME|$(hostname)|$PATH"',
        flags=("-e", "FOO=foo", "-e", "BAR=with space", "-w", "/made/here", "-u", "app", "-h", "box"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    foo, bar, pwd, ids, groups, home, host, path = r.stdout.strip().split("|")
    assert (foo, bar, pwd, ids, home, host) == ("foo", "with space", "/made/here", "1000:1000", "/home/app", "box")
    assert set(groups.split()) == {"1000", "2000"}
    assert path == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_numeric_user_and_group(engine: Engine) -> None:
    r = engine.run("id", flags=("-u", "4242:4343"))
    assert r.returncode == 0 and "uid=4242" in r.stdout and "gid=4343" in r.stdout


def test_unknown_user_is_an_engine_error(engine: Engine) -> None:
    r = engine.run("true", flags=("-u", "nosuchuser"))
    assert r.returncode == 125 and "unable to find user nosuchuser" in r.stderr


def test_default_hostname_is_the_short_id(engine: Engine) -> None:
    r = engine.run("hostname", flags=("--name", "hn"))
    cid = engine.cli("ps", "-a", "-q", "--no-trunc").stdout.strip()
    assert r.stdout.strip() == cid[:12]


def test_pid_namespace_and_capabilities(engine: Engine) -> None:
    r = engine.run("sh", "-c", "echo $$; grep CapBnd /proc/self/status")
    pid, caps = r.stdout.strip().splitlines()
    assert pid == "1"
    assert int(caps.split()[1], 16) == 0x00000000a80425fb  # docker's 14 default capabilities


def test_stdin_with_i(engine: Engine) -> None:
    r = engine.run("cat", flags=("-i",), input="piped data\n")
    assert r.stdout == "piped data\n"
    r = engine.run("cat", input="ignored\n")  # without -i stdin is /dev/null
    assert r.stdout == "" and r.returncode == 0


def test_rm_leaves_nothing(engine: Engine) -> None:
    r = engine.run("echo", "bye", flags=("--rm",))
    assert r.stdout == "bye\n"
    assert engine.ids() == []
    assert engine.leftovers() == []


def test_exited_container_stays_without_rm(engine: Engine) -> None:
    engine.run("sh", "-c", "echo x > /file; exit 4", flags=("--name", "keep"))
    out = engine.cli("ps", "-a", "--format", "{{.Names}} {{.State}} {{.Status}}").stdout
    assert out.startswith("keep exited Exited (4)")
    assert engine.cli("wait", "keep").stdout == "4\n"
    # nothing is mounted while it is stopped
    assert engine.leftovers() == [f"container dir {engine.ids()[0]}"]


def test_read_only_rootfs(engine: Engine) -> None:
    r = engine.run("sh", "-c", "touch /x", flags=("--read-only",))
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    r = engine.run("sh", "-c", "touch /tmp/x /dev/shm/y && echo ok", flags=("--read-only", "--tmpfs", "/tmp"))
    assert r.stdout == "ok\n", r.stderr


def test_bind_mounts(engine: Engine, tmp_path: Path) -> None:
    host = tmp_path / "shared"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    r = engine.run("sh", "-c", "cat /data/in.txt; echo from container > /data/out.txt", flags=("-v", f"{host}:/data"))
    assert r.stdout == "from host\n" and (host / "out.txt").read_text() == "from container\n"
    r = engine.run("sh", "-c", "touch /data/no", flags=("-v", f"{host}:/data:ro"))
    assert r.returncode != 0 and not (host / "no").exists()
    r = engine.run("cat", "/m/in.txt", flags=("--mount", f"type=bind,source={host},target=/m,readonly"))
    assert r.stdout == "from host\n"


def test_missing_bind_source(engine: Engine, tmp_path: Path) -> None:
    """As docker: --mount refuses a missing source; -v makes the directory."""
    r = engine.run("true", flags=("--mount", f"type=bind,src={tmp_path}/absent,dst=/x"))
    assert r.returncode == 125 and "bind source path does not exist" in r.stderr
    assert engine.ids() == [] and not (tmp_path / "absent").exists()
    r = engine.run("sh", "-c", "echo made > /x/f", flags=("-v", f"{tmp_path}/absent/deeper:/x"))
    assert r.returncode == 0 and (tmp_path / "absent" / "deeper" / "f").read_text() == "made\n"


def test_writes_go_to_the_container_not_the_layer(engine: Engine) -> None:
    r = engine.run("sh", "-c", "echo new > /bin/newfile && rm /bin/ls && echo done")
    assert r.stdout == "done\n"
    assert not (engine.layer / "bin/newfile").exists() and (engine.layer / "bin/ls").is_symlink()


def test_entrypoint_flag(engine: Engine) -> None:
    r = engine.run("-c", "echo via entrypoint", flags=("--entrypoint", "/bin/sh"))
    assert r.stdout == "via entrypoint\n"


@pytest.mark.parametrize(("network", "links"), [("none", ["lo"]), ("bridge", ["eth0", "lo"])])
def test_private_network_has_only_loopback_and_it_is_up(engine: Engine, network: str, links: list[str]) -> None:
    script = "ls /sys/class/net; ping -c1 -W2 127.0.0.1 >/dev/null && echo pong"
    r = engine.run("sh", "-c", script, flags=("--network", network))
    assert r.stdout.split() == [*links, "pong"], r.stderr


def test_host_network(engine: Engine) -> None:
    import os

    r = engine.run("ls", "/sys/class/net", flags=("--network", "host"))
    assert sorted(r.stdout.split()) == sorted(os.listdir("/sys/class/net"))


def test_signals_are_forwarded(engine: Engine) -> None:
    p = engine.popen(
        "run", "--name", "sig", "--rootfs", str(engine.layer),
        "sh", "-c", "trap 'echo got TERM; exit 42' TERM; echo ready; while true; do sleep 0.1; done",
    )  # fmt: skip
    assert p.stdout is not None
    assert p.stdout.readline() == "ready\n"
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 42
    assert p.stdout.read() == "got TERM\n"


def test_logs_of_an_attached_run(engine: Engine) -> None:
    engine.run("sh", "-c", "echo one; echo two >&2", flags=("--name", "lg"))
    r = engine.cli("logs", "lg")
    assert r.stdout == "one\n" and r.stderr == "two\n"


def test_groups_ulimits_sysctls(engine: Engine) -> None:
    script = "id -G; ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_unprivileged_port_start"
    flags = (
        "--group-add", "extra", "--group-add", "777", "--ulimit", "nofile=100:200",
        "--sysctl", "net.ipv4.ip_unprivileged_port_start=80",
    )  # fmt: skip
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        host_before = f.read()
    r = engine.run("sh", "-c", script, flags=flags)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert set(lines[0].split()) == {"0", "777", "2000"}
    assert lines[1:4] == ["100", "200", "80"]
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        assert f.read() == host_before  # the sysctl was set in the container's namespace only


def test_shm_size(engine: Engine) -> None:
    r = engine.run("df", "-k", "/dev/shm", flags=("--shm-size", "2m"))
    assert r.stdout.splitlines()[1].split()[1] == "2048"
