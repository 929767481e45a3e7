"""Escapes in the shape of runc's CVEs and the default privilege set, tested through the engine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.containers.conftest import Engine

pytestmark = pytest.mark.root

# A container-side watcher: it keeps trying to read the executable of every process it can see whose
# binary lives outside the container (a host interpreter or runtime caught between fork and exec).
WATCHER = r"""
end=$(( $(date +%s) + 30 ))
: > /tmp/leaks
while [ $(date +%s) -lt $end ] && [ ! -e /tmp/stop ]; do
  for p in /proc/[0-9]*; do
    exe=$(readlink $p/exe 2>/dev/null) || continue
    [ -e "$exe" ] && continue
    if dd if=$p/exe of=/dev/null bs=1 count=1 2>/dev/null; then echo "$p $exe" >> /tmp/leaks; fi
  done
done
touch /tmp/done
sleep 60
"""


def test_exec_never_exposes_the_host_binary(engine: Engine) -> None:
    """CVE-2019-5736: a process that joins the container must not let it open the host's binary."""
    r = engine.run("sh", "-c", WATCHER, flags=("-d", "--name", "watcher"))
    assert r.returncode == 0, r.stderr
    try:
        for _ in range(15):
            e = engine.cli("exec", "watcher", "true")
            assert e.returncode == 0, e.stderr
        assert engine.cli("exec", "watcher", "touch", "/tmp/stop").returncode == 0
        deadline = time.monotonic() + 40
        while engine.cli("exec", "watcher", "test", "-e", "/tmp/done").returncode != 0:
            assert time.monotonic() < deadline, "the watcher finished"
            time.sleep(0.2)
        leaks = engine.cli("exec", "watcher", "cat", "/tmp/leaks")
        assert leaks.returncode == 0
        assert leaks.stdout.strip() == "", f"host executables readable from the container: {leaks.stdout}"
    finally:
        engine.cli("rm", "-f", "watcher")


def test_proc_self_exe_is_the_container_binary(engine: Engine) -> None:
    r = engine.run("readlink", "/proc/self/exe")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "/bin/busybox"


def test_mounting_fails_inside(engine: Engine) -> None:
    r = engine.run("sh", "-c", "mkdir -p /mnt/x && mount -t tmpfs none /mnt/x && echo MOUNTED")
    assert "MOUNTED" not in r.stdout
    assert r.returncode != 0


def test_privileged_may_mount(engine: Engine) -> None:
    r = engine.run("sh", "-c", "mkdir -p /mnt/x && mount -t tmpfs none /mnt/x && echo MOUNTED",
                   flags=("--privileged",))
    assert r.returncode == 0, r.stderr
    assert "MOUNTED" in r.stdout


def test_cannot_see_or_signal_host_processes(engine: Engine) -> None:
    r = engine.run("sh", "-c", "ls /proc | grep -c '^[0-9]'")
    assert r.returncode == 0
    assert int(r.stdout.strip()) <= 3  # sh, grep, ls: pid 1 and its children only


def test_masked_paths_are_masked(engine: Engine) -> None:
    files = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list") if Path(p).exists()]
    dirs = [p for p in ("/sys/firmware", "/proc/scsi", "/proc/acpi") if Path(p).is_dir() and any(Path(p).iterdir())]
    assert files or dirs, "this host has none of the paths to mask"
    script = "; ".join([f"echo {f} $(wc -c < {f})" for f in files] + [f"echo {d} $(ls {d} | wc -l)" for d in dirs])
    r = engine.run("sh", "-c", script + "; echo 1 > /proc/sysrq-trigger && echo WROTE")
    sizes = dict(line.split() for line in r.stdout.splitlines() if line.startswith("/"))
    assert sizes == {p: "0" for p in files + dirs}
    assert "WROTE" not in r.stdout
