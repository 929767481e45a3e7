"""The default seccomp profile in real containers: a static probe (compiled here with gcc) calls each system call
and reports its errno, under the default profile, unconfined, --privileged, a custom profile and added
capabilities. The same probe under ``seccomp=unconfined`` shows that the filter, not the kernel, refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from geedocker.containers.seccomp import host_platform
from tests.containers.conftest import Engine
from tests.support.probe import build_probe, parse

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(os.uname().machine != "x86_64", reason="the probe's call numbers are x86_64's")]

EPERM, ENOSYS = 1, 38

DENIED = ["add_key", "keyctl", "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
          "io_uring_enter", "io_uring_register", "kexec_load", "kexec_file_load", "init_module", "finit_module",
          "delete_module", "mount", "umount2", "pivot_root", "swapon", "swapoff", "reboot", "open_by_handle_at",
          "name_to_handle_at", "setns", "unshare(CLONE_NEWUSER)", "unshare(CLONE_NEWNS)", "clone(CLONE_NEWUSER)",
          "clone(CLONE_NEWNET)", "personality(ADDR_NO_RANDOMIZE)", "settimeofday", "acct", "iopl", "syslog",
          "lookup_dcookie", "quotactl", "kcmp", "uselib", "nfsservctl", "mbind", "fsopen", "open_tree"]
ALLOWED = ["getpid", "uname", "socket", "clone", "personality(PER_LINUX)", "personality(query)", "mkdirat",
           "chown", "statx", "rseq", "close_range"]


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_probe(tmp_path_factory.mktemp("probe"))


def run_probe(engine: Engine, probe: Path, *flags: str) -> dict[str, int]:
    r = engine.run("/probe", flags=("--rm", "--network", "none", "-v", f"{probe}:/probe:ro", *flags))
    assert r.returncode == 0, r.stderr
    out = parse(r.stdout)
    assert set(out) == set(DENIED) | {"clone3", "ptrace"} | set(ALLOWED), r.stdout
    return out


def test_the_default_profile_denies_the_dangerous_calls_and_lets_the_others_through(engine: Engine,
                                                                                    probe: Path) -> None:
    confined = run_probe(engine, probe)
    unconfined = run_probe(engine, probe, "--security-opt", "seccomp=unconfined")
    assert {n: confined[n] for n in DENIED} == dict.fromkeys(DENIED, EPERM)
    assert confined["clone3"] == ENOSYS  # so that the C library falls back to clone, whose flags are checked
    assert {n: c for n, c in confined.items() if n in ALLOWED and c == EPERM} == {}
    assert confined == {**unconfined, **dict.fromkeys(DENIED, EPERM), "clone3": ENOSYS}
    # the kernel itself would have let these through, or failed them otherwise: the filter refused them
    for name in ("add_key", "keyctl", "request_key", "perf_event_open", "io_uring_setup", "name_to_handle_at",
                 "unshare(CLONE_NEWUSER)", "clone(CLONE_NEWUSER)", "personality(ADDR_NO_RANDOMIZE)", "setns"):
        assert unconfined[name] != EPERM, name
    # ptrace: allowed from kernel 4.8 on (as docker's rule); PTRACE -1 on no process is ESRCH, not the filter's EPERM
    assert (confined["ptrace"] != EPERM) == (host_platform()[2] >= (4, 8))


def test_seccomp_mode_per_option_and_inspect(engine: Engine, probe: Path) -> None:
    for flags, mode in [((), "2"), (("--security-opt", "seccomp=unconfined"), "0"), (("--privileged",), "0")]:
        r = engine.run("grep", "^Seccomp:", "/proc/self/status", flags=("--rm", "--network", "none", *flags))
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["Seccomp:", mode], flags
    r = engine.run("sleep", "60", flags=("-d", "--name", "sc", "--network", "none"))
    assert r.returncode == 0, r.stderr
    e = engine.cli("exec", "sc", "grep", "^Seccomp:", "/proc/self/status")
    assert e.stdout.split() == ["Seccomp:", "2"]  # exec'd processes get the container's filter too
    assert json.loads(engine.cli("inspect", "sc").stdout)[0]["HostConfig"]["SecurityOpt"] is None
    engine.cli("rm", "-f", "sc")
    r = engine.run("true", flags=("--name", "un", "--network", "none", "--security-opt", "seccomp=unconfined"))
    assert json.loads(engine.cli("inspect", "un").stdout)[0]["HostConfig"]["SecurityOpt"] == ["seccomp=unconfined"]


def test_a_custom_profile_replaces_the_default(engine: Engine, probe: Path, tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                     {"names": ["socket"], "action": "SCMP_ACT_ERRNO",
                      "includes": {"caps": ["CAP_NET_RAW"]}},  # a default capability: the rule applies
                     {"names": ["statx"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}}],
    }, indent=2))
    got = run_probe(engine, probe, "--security-opt", f"seccomp={profile}")
    unconfined = run_probe(engine, probe, "--security-opt", "seccomp=unconfined")
    assert got == {**unconfined, "getpid": 13, "socket": EPERM}
    r = engine.run("true", flags=("--name", "custom", "--network", "none", "--security-opt", f"seccomp={profile}"))
    assert r.returncode == 0, r.stderr
    opts = json.loads(engine.cli("inspect", "custom").stdout)[0]["HostConfig"]["SecurityOpt"]
    assert opts == ["seccomp=" + json.dumps(json.loads(profile.read_text()), separators=(",", ":"))]


def test_added_capabilities_open_their_calls(engine: Engine, probe: Path) -> None:
    got = run_probe(engine, probe, "--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE")
    for name in ("mount", "umount2", "unshare(CLONE_NEWUSER)", "unshare(CLONE_NEWNS)", "clone(CLONE_NEWNET)",
                 "name_to_handle_at", "kcmp"):
        assert got[name] != EPERM, name
    assert got["clone3"] != ENOSYS
    assert got["add_key"] == EPERM and got["kexec_load"] == EPERM  # never allowed


def test_a_bad_profile_is_refused_with_125_and_nothing_is_created(engine: Engine, tmp_path: Path) -> None:
    profile = tmp_path / "bad.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "KILL"}]}')
    r = engine.run("true", flags=("--security-opt", f"seccomp={profile}"))
    assert r.returncode == 125
    assert "syscalls[0].action: unknown action 'KILL'" in r.stderr
    assert engine.ids() == []
