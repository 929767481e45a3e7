"""podman driving ``geedocker-runtime`` (``podman --runtime``): run, exit codes, exec, tty, stop.

Uses a private podman store in a temp dir and an image imported from the busybox rootfs (no network).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker import launcher
from tests.support.probe import build_probe, parse

pytestmark = [
    pytest.mark.root,
    pytest.mark.peers,
    pytest.mark.skipif(shutil.which("podman") is None or shutil.which("conmon") is None,
                       reason="podman/conmon not installed"),
]

# This host's hard RLIMIT_NOFILE is below podman's default (1048576) and there is no CAP_SYS_RESOURCE.
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


class Podman:
    def __init__(self, base: Path) -> None:
        self.base = base
        (wrapper,) = launcher.install(base, python=launcher.preferred_python(),  # as installed
                                        names=("geedocker-runtime",))
        self.argv = ["podman", "--root", str(base / "storage"), "--runroot", str(base / "runroot"),
                     "--runtime", str(wrapper), "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                     "--tmpdir", str(base / "tmp")]

    def __call__(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.argv, *args], capture_output=True, text=True, timeout=120, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory, busybox_rootfs: Path) -> Iterator[Podman]:
    base = tmp_path_factory.mktemp("podman")
    pm = Podman(base)
    tar = base / "rootfs.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(busybox_rootfs, arcname=".")
    r = pm("import", str(tar), "localhost/geedocker-test:bb")
    assert r.returncode == 0, r.stderr
    try:
        yield pm
    finally:
        pm("rm", "-af", "-t", "0")
        pm("system", "reset", "-f")
        subprocess.run(["umount", "-R", str(base / "storage")], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


IMAGE = "localhost/geedocker-test:bb"


def test_podman_run_output_and_exit_code(podman: Podman) -> None:
    r = podman("run", "--rm", *ULIMITS, IMAGE, "sh", "-c", "echo hello; cat /proc/1/cmdline; echo; exit 3")
    assert r.returncode == 3, r.stderr
    assert r.stdout.splitlines()[0] == "hello"


def test_podman_run_not_found(podman: Podman) -> None:
    r = podman("run", "--rm", *ULIMITS, IMAGE, "no-such-binary")
    assert r.returncode in (126, 127)
    assert "no-such-binary" in r.stderr


def test_podman_exec_and_stop(podman: Podman) -> None:
    r = podman("run", "-d", "--name", "gd-exec", *ULIMITS, IMAGE, "sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait")
    assert r.returncode == 0, r.stderr
    try:
        r = podman("exec", "gd-exec", "sh", "-c", "echo in-exec; exit 5")
        assert (r.returncode, r.stdout) == (5, "in-exec\n")
        r = podman("exec", "-t", "gd-exec", "tty")
        assert r.returncode == 0 and r.stdout.startswith("/dev/pts/")
        r = podman("exec", "-i", "gd-exec", "cat", input="piped\n")
        assert r.stdout == "piped\n"
        r = podman("stop", "-t", "10", "gd-exec")
        assert r.returncode == 0, r.stderr
        r = podman("inspect", "--format", "{{.State.ExitCode}}", "gd-exec")
        assert r.stdout.strip() == "0"
    finally:
        podman("rm", "-f", "-t", "0", "gd-exec")


def test_podman_run_tty(podman: Podman) -> None:
    r = podman("run", "--rm", "-t", *ULIMITS, IMAGE, "sh", "-c", "tty; test -c /dev/console && echo console")
    assert r.returncode == 0, r.stderr
    assert r.stdout.replace("\r", "").split("\n")[:2] == ["/dev/pts/0", "console"]


def test_podman_profiles_are_honoured(podman: Podman, tmp_path: Path) -> None:
    """podman's own default profile and its unconfined mode, through geedocker-runtime: the filter is loaded
    and a denied call fails as the profile says (bpf without CAP_SYS_ADMIN: EPERM; the kernel's own answer to
    the probe's bad command is EINVAL)."""
    probe = build_probe(tmp_path)
    flags = ["--rm", "-v", f"{probe}:/probe:ro", *ULIMITS]
    r = podman("run", *flags, IMAGE, "/probe", "bpf", "getpid")
    assert r.returncode == 0, r.stderr
    assert parse(r.stdout) == {"bpf": 1, "getpid": 0}
    r = podman("run", *flags, "--security-opt", "seccomp=unconfined", IMAGE, "/probe", "bpf", "getpid")
    assert r.returncode == 0, r.stderr
    assert parse(r.stdout) == {"bpf": 22, "getpid": 0}
    r = podman("run", "--rm", *ULIMITS, IMAGE, "grep", "^Seccomp:", "/proc/self/status")
    assert r.stdout.split() == ["Seccomp:", "2"]
