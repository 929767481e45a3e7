"""sysctl, oomScoreAdj, the /sys/fs/cgroup mount, the terminal via a console socket."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from geedocker import runtime as rt
from geedocker.runtime import console
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = pytest.mark.root


def test_sysctl(runtime: Runtime) -> None:
    cfg = base_config(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni"])
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
    assert runtime.run(cfg).out.split() == ["1", "1234"]


def test_oom_score_adj(runtime: Runtime) -> None:
    assert runtime.run(base_config(["cat", "/proc/self/oom_score_adj"], oomScoreAdj=500)).out == "500\n"


def test_cgroup_mount_shows_own_cgroup(runtime: Runtime) -> None:
    cfg = base_config(["sh", "-c", "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/pids.max"])
    cfg["linux"]["namespaces"].append({"type": "cgroup"})
    cfg["linux"]["resources"] = {"pids": {"limit": 33}}
    cfg["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                          "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})
    r = runtime.run(cfg)
    assert r.code == 0, r.err
    names = r.out.split()
    assert {"memory", "pids", "cpu"} <= set(names)
    assert names[-1] == "33"


def test_terminal_over_console_socket(runtime: Runtime, tmp_path: Path) -> None:
    sock_path = tmp_path / "console.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen(1)
    got: dict[str, object] = {}

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            fd = console.recv_master(conn)
        data = b""
        try:
            while True:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass  # EIO once the slave side is closed
        os.close(fd)
        got["out"] = data

    t = threading.Thread(target=serve)
    t.start()
    try:
        script = "tty; test -t 0 && test -t 1 && echo is-a-tty; stty size; test -c /dev/console && echo console"
        cfg = base_config(["sh", "-c", script], terminal=True, consoleSize={"height": 24, "width": 100})
        bundle = runtime.bundle(cfg)
        code = rt.run(runtime.root, "tty1", bundle, console_socket=sock_path)
        t.join(10)
    finally:
        server.close()
    assert code == 0
    out = bytes(got["out"]).decode().replace("\r", "").split("\n")  # type: ignore[arg-type]
    assert out[0].startswith("/dev/pts/")
    assert out[1] == "is-a-tty"
    assert out[2] == "24 100"
    assert out[3] == "console"


def test_terminal_without_console_socket_is_refused(runtime: Runtime) -> None:
    with pytest.raises(Exception, match="console socket"):
        runtime.run(base_config(["true"], terminal=True))
