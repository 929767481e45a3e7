"""exec, the terminal over --console-socket, the process's identity and limits: the same for both runtimes."""

from __future__ import annotations

import array
import json
import os
import socket
import time
from pathlib import Path

import pytest

from tests.runtime.conformance.conftest import Oci
from tests.support.bundle import base_config

pytestmark = [pytest.mark.root, pytest.mark.peers]

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Capability numbers (linux/capability.h) and a mask of a set of them, as /proc/<pid>/status shows it.
CAPS = {"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18}


def mask(*names: str) -> str:
    return f"{sum(1 << CAPS[n] for n in names):016x}"


def status_fields(text: str) -> dict[str, str]:
    """``Key:\tvalue`` lines of /proc/<pid>/status, whitespace squeezed."""
    return {k: " ".join(v.split()) for line in text.splitlines() if ":" in line
            for k, v in [line.split(":", 1)]}


def running(oci: Oci, config: dict[str, object] | None = None) -> str:
    cid = oci.create(config or base_config(["sleep", "60"]))
    assert oci("start", cid).code == 0
    oci.wait_status(cid, "running")
    return cid


def test_exec_process_file(oci: Oci, tmp_path: Path) -> None:
    cid = running(oci)
    proc = tmp_path / "process.json"
    proc.write_text(json.dumps({
        "args": ["sh", "-c", "echo $FOO; pwd; grep -E '^(Uid|Gid|Groups):' /proc/self/status; exit 4"],
        "env": [PATH, "FOO=bar"], "cwd": "/tmp",
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [2000]},
    }))
    out = tmp_path / "out"
    r = oci("exec", "--process", str(proc), cid, out=out)
    assert r.code == 4, r.err
    lines = out.read_text().splitlines()
    assert lines[:2] == ["bar", "/tmp"]
    f = status_fields("\n".join(lines[2:]))
    assert (f["Uid"], f["Gid"], f["Groups"]) == ("1000 1000 1000 1000", "1000 1000 1000 1000", "2000")


def test_exec_command_line_flags(oci: Oci, tmp_path: Path) -> None:
    cid = running(oci)
    out = tmp_path / "out"
    r = oci("exec", "--cwd", "/tmp", "--env", "FOO=baz", "--user", "1000:1000", cid, "sh", "-c",
            "echo $FOO; pwd; id -u; id -g", out=out)
    assert r.code == 0, r.err
    assert out.read_text().split() == ["baz", "/tmp", "1000", "1000"]


def test_exec_exit_codes(oci: Oci) -> None:
    cid = running(oci)
    assert oci("exec", cid, "sh", "-c", "exit 0").code == 0
    assert oci("exec", cid, "sh", "-c", "exit 3").code == 3
    assert oci("exec", cid, "sh", "-c", "nosuchcmd").code == 127
    assert oci("exec", cid, "sh", "-c", "kill -KILL $$").code == 128 + 9


def test_exec_that_cannot_start_exits_255(oci: Oci) -> None:
    """runc exits 255 when exec fails (podman and containerd read the reason from its message)."""
    cid = running(oci)
    r = oci("exec", cid, "nosuchcmd")
    assert r.code == 255 and "executable file not found" in r.err
    r = oci("exec", cid, "/etc/passwd")
    assert r.code == 255 and "permission denied" in r.err
    r = oci("exec", "conf-nope", "true")
    assert r.code == 255 and "not exist" in r.err


def test_exec_detached_pid_file(oci: Oci, tmp_path: Path) -> None:
    cid = running(oci)
    pidfile = tmp_path / "exec.pid"
    r = oci("exec", "--detach", "--pid-file", str(pidfile), cid, "sleep", "30")
    assert r.code == 0, r.err
    pid = int(pidfile.read_text())
    assert Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x0030\x00"
    assert pid in json.loads(oci("ps", "--format", "json", cid).out)


def test_exec_into_a_stopped_container_is_refused(oci: Oci) -> None:
    cid = oci.create(base_config(["true"]))
    assert oci("start", cid).code == 0
    oci.wait_status(cid, "stopped")
    r = oci("exec", cid, "true")
    assert r.code == 255 and ("not running" in r.err.lower() or "stopped" in r.err.lower()), r.err


def _recv_fd(conn: socket.socket) -> int:
    fds = array.array("i")
    _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    assert len(fds) == 1
    return fds[0]


def _read_until(fd: int, needle: bytes, timeout: float = 10) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(fd, False)
    while needle not in buf:
        assert time.monotonic() < deadline, buf
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.02)
            continue
        except OSError:  # EIO: the slave side closed
            break
        if not chunk:
            break
        buf += chunk
    return buf


def test_terminal_over_console_socket(oci: Oci, tmp_path: Path) -> None:
    """create with ``process.terminal``: the runtime sends the pty master over the socket (SCM_RIGHTS)."""
    sock_path = tmp_path / "console.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sock_path))
    srv.listen(1)
    srv.settimeout(20)
    cfg = base_config(["sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo both-tty; read line; echo got-$line"],
                      terminal=True)
    cid = oci.create(cfg, "--console-socket", str(sock_path))
    conn, _ = srv.accept()
    master = _recv_fd(conn)
    conn.close()
    srv.close()
    try:
        assert oci("start", cid).code == 0
        first = _read_until(master, b"both-tty")
        assert b"/dev/pts/0" in first
        os.write(master, b"hello\n")
        assert b"got-hello" in _read_until(master, b"got-hello")
    finally:
        os.close(master)
    oci.wait_status(cid, "stopped")


def test_terminal_without_console_socket_is_refused(oci: Oci) -> None:
    bundle = oci.bundle(base_config(["true"], terminal=True))
    r = oci("create", "--bundle", str(bundle), oci.new_id())
    assert r.code == 1 and "console" in r.err.lower()


def test_user_uid_gid_additional_gids(oci: Oci) -> None:
    r = oci.sh("grep -E '^(Uid|Gid|Groups):' /proc/self/status; id -un",
               user={"uid": 1000, "gid": 2000, "additionalGids": [10, 20, 65534]})
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    f = status_fields("\n".join(lines[:3]))
    assert (f["Uid"], f["Gid"], f["Groups"]) == ("1000 1000 1000 1000", "2000 2000 2000 2000", "10 20 65534")
    assert lines[3] == "app"


def test_user_without_additional_gids_has_none(oci: Oci) -> None:
    r = oci.sh("grep '^Groups:' /proc/self/status", user={"uid": 1000, "gid": 1000})
    assert r.code == 0 and status_fields(r.out)["Groups"] == ""


def test_capabilities_of_pid_1(oci: Oci) -> None:
    caps = {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT"],
            "effective": ["CAP_CHOWN", "CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
            "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]}
    r = oci.run(base_config(["cat", "/proc/1/status"], capabilities=caps))
    assert r.code == 0, r.err
    f = status_fields(r.out)
    # execve recomputes the sets: permitted = what was permitted plus ambient; effective = permitted for root
    assert f["CapBnd"] == mask("CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT")
    assert f["CapInh"] == mask("CAP_KILL")
    assert f["CapAmb"] == mask("CAP_KILL")
    assert f["CapPrm"] == mask("CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW")
    assert f["CapEff"] == mask("CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW")


def test_capabilities_of_a_non_root_user(oci: Oci) -> None:
    caps = {k: ["CAP_NET_BIND_SERVICE"] for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    r = oci.run(base_config(["cat", "/proc/self/status"], capabilities=caps, user={"uid": 1000, "gid": 1000}))
    assert r.code == 0, r.err
    f = status_fields(r.out)
    assert f["CapEff"] == f["CapPrm"] == f["CapAmb"] == mask("CAP_NET_BIND_SERVICE")


def test_no_capabilities(oci: Oci) -> None:
    r = oci.run(base_config(["cat", "/proc/1/status"], capabilities={}))
    assert r.code == 0, r.err
    f = status_fields(r.out)
    assert f["CapEff"] == f["CapPrm"] == f["CapBnd"] == "0" * 16


def test_rlimits(oci: Oci) -> None:
    r = oci.run(base_config(["cat", "/proc/self/limits"], rlimits=[
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
    ]))
    assert r.code == 0, r.err
    limits = {" ".join(line.split()[:-3]) if line.split()[-1] in ("files", "bytes", "processes") else "":
              line.split()[-3:-1] for line in r.out.splitlines()[1:]}
    assert limits["Max open files"] == ["512", "1000"]
    assert limits["Max core file size"] == ["0", "0"]
    assert limits["Max processes"] == ["300", "400"]


def test_no_new_privileges(oci: Oci) -> None:
    on = oci.run(base_config(["grep", "NoNewPrivs", "/proc/self/status"], noNewPrivileges=True))
    off = oci.run(base_config(["grep", "NoNewPrivs", "/proc/self/status"], noNewPrivileges=False))
    assert on.out.split() == ["NoNewPrivs:", "1"] and off.out.split() == ["NoNewPrivs:", "0"]


def test_env_and_cwd(oci: Oci) -> None:
    r = oci.run(base_config(["sh", "-c", "pwd; echo $A-$B"], env=[PATH, "A=1", "B=two words"], cwd="/home/app"))
    assert r.code == 0 and r.out == "/home/app\n1-two words\n"


def test_cwd_is_made_when_missing(oci: Oci) -> None:
    r = oci.run(base_config(["pwd"], cwd="/made/by/runtime"))
    assert r.code == 0 and r.out == "/made/by/runtime\n"
