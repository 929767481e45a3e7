"""seccomp filters compiled with libseccomp: errno rules, argument conditions, podman's default profile."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from geedocker import runtime as rt
from geedocker.runtime import seccomp
from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = [pytest.mark.root, pytest.mark.skipif(not seccomp.available(), reason="libseccomp not installed")]

PODMAN_PROFILE = Path("/usr/share/containers/seccomp.json")


@pytest.fixture(autouse=True)
def _honour_seccomp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEEDOCKER_IGNORE_SECCOMP", raising=False)


def with_profile(args: list[str], profile: dict[str, Any], nnp: bool = True) -> dict[str, Any]:
    cfg = base_config(args, noNewPrivileges=nnp)
    cfg["linux"]["seccomp"] = profile
    return cfg


DENY_MKDIR = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                 {"names": ["no_such_syscall_name"], "action": "SCMP_ACT_ERRNO"}],
}


@pytest.mark.parametrize("nnp", [True, False])
def test_errno_rule(runtime: Runtime, nnp: bool) -> None:
    r = runtime.run(with_profile(["sh", "-c", "mkdir /tmp/x || echo denied; touch /tmp/y && echo touched"],
                                 DENY_MKDIR, nnp))
    assert r.out.split() == ["denied", "touched"]
    assert "Operation not permitted" in r.err


def test_seccomp_mode_is_filter(runtime: Runtime) -> None:
    r = runtime.run(with_profile(["grep", "Seccomp:", "/proc/self/status"], DENY_MKDIR))
    assert r.out.split() == ["Seccomp:", "2"]


def test_custom_errno_and_arg_condition(runtime: Runtime) -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                      "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]}],
    }
    r = runtime.run(with_profile(["sh", "-c", "kill -0 $$ && echo sig0-ok; kill -USR1 $$ || echo usr1-denied"],
                                 profile))
    assert r.out.split() == ["sig0-ok", "usr1-denied"]
    assert "not implemented" in r.err.lower()  # ENOSYS (38)


def test_default_errno_action(runtime: Runtime) -> None:
    allowed = ["execve", "brk", "arch_prctl", "mmap", "munmap", "mprotect", "exit_group", "write", "read",
               "getpid", "rt_sigaction", "rt_sigprocmask", "set_tid_address", "prlimit64", "getuid", "geteuid",
               "ioctl", "fstat", "newfstatat", "close", "open", "openat", "set_robust_list", "rseq", "futex",
               "getppid", "uname", "getcwd", "access", "stat", "lstat", "readlink", "wait4", "exit", "clone", "clone3",
               "fork", "vfork", "getpgrp", "setpgid", "dup2", "fcntl", "pipe", "pipe2", "execveat", "rt_sigreturn",
               "sigreturn", "getrandom", "times", "getgid", "getegid", "lseek", "dup", "dup3", "poll", "pselect6",
               "select", "writev", "readv", "getdents64", "sysinfo", "madvise", "mremap", "tgkill", "gettid",
               "clock_gettime", "gettimeofday", "nanosleep", "clock_nanosleep", "getpgid", "setsid", "umask"]
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
               "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]}
    r = runtime.run(with_profile(["sh", "-c", "echo up; mkdir /tmp/d 2>/dev/null || echo mkdir-denied"], profile))
    assert r.out.split()[:1] == ["up"]
    assert "mkdir-denied" in r.out


@pytest.mark.skipif(not PODMAN_PROFILE.exists(), reason="podman's seccomp.json is not installed")
@pytest.mark.parametrize("nnp", [True, False])
def test_podman_default_profile(runtime: Runtime, nnp: bool) -> None:
    profile = json.loads(PODMAN_PROFILE.read_text())
    r = runtime.run(with_profile(["sh", "-c", "echo ok; grep Seccomp: /proc/self/status"], profile, nnp))
    assert r.code == 0, r.err
    assert r.out.split() == ["ok", "Seccomp:", "2"]


def test_exec_gets_the_container_filter(runtime: Runtime) -> None:
    cid = runtime.create(with_profile(["sleep", "60"], DENY_MKDIR))
    rt.start(runtime.root, cid)
    out = runtime.base / "exec.out"
    with open(out, "wb") as f, open(os.devnull, "rb") as null:
        code = rt.exec_(runtime.root, cid, {"args": ["mkdir", "/tmp/z"], "cwd": "/"}, stdin=null.fileno(),
                        stdout=f.fileno(), stderr=f.fileno())
    assert code == 1
    assert "Operation not permitted" in out.read_text()


def test_the_compiled_program_is_cached_and_a_cache_that_does_not_match_is_ignored(runtime: Runtime,
                                                                                  tmp_path: Path) -> None:
    profile = seccomp.Seccomp.from_json(DENY_MKDIR)
    cache = tmp_path / "cache"
    seccomp._programs.clear()
    seccomp.prepare(profile, cache)
    (entry,) = cache.iterdir()
    key, _, program = entry.read_bytes().partition(b"\0")
    assert key.decode() == seccomp._key(profile) and program == seccomp._export(profile)
    seccomp._programs.clear()
    entry.write_bytes(key + b"x\0" + program)  # another profile's entry under the same name
    seccomp.prepare(profile, cache)
    assert entry.read_bytes() == key + b"\0" + program  # compiled again and rewritten
    seccomp._programs.clear()
    # a run through the runtime uses (and leaves) its cache; the filter works as compiled
    r = runtime.run(with_profile(["sh", "-c", "mkdir /x 2>&1; echo rc=$?"], DENY_MKDIR))
    assert "rc=1" in r.out and "Operation not permitted" in r.out
    assert list(runtime.root.glob(".seccomp-*.bpf"))
    seccomp._programs.clear()
    r = runtime.run(with_profile(["sh", "-c", "mkdir /x 2>&1; echo rc=$?"], DENY_MKDIR))
    assert "rc=1" in r.out and "Operation not permitted" in r.out
