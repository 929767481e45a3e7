"""Docker-format seccomp profiles -> OCI linux.seccomp: includes/excludes on caps, arches and kernel, archMap,
field-naming errors; the default profile's content; the containers ecosystem's profile as a format sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from geedocker.containers import seccomp
from geedocker.containers.seccomp import ProfileError, to_oci
from geedocker.errors import UsageError
from geedocker.runtime.capabilities import DEFAULT_CAPABILITIES
from geedocker.runtime.seccomp import Seccomp

AMD64 = ("amd64", "SCMP_ARCH_X86_64", (6, 1))
ARM64 = ("arm64", "SCMP_ARCH_AARCH64", (6, 1))
S390X = ("s390x", "SCMP_ARCH_S390X", (6, 1))
OLD_KERNEL = ("amd64", "SCMP_ARCH_X86_64", (4, 4))
DEFAULT_CAPS = tuple(DEFAULT_CAPABILITIES)
PODMAN_PROFILE = Path("/usr/share/containers/seccomp.json")


def default(caps: tuple[str, ...] = DEFAULT_CAPS, platform: tuple[str, str, tuple[int, int]] = AMD64) -> dict[str, Any]:
    out = to_oci(seccomp.default_profile_text(), capabilities=caps, platform=platform)
    assert out is not None
    return out


def rules_for(profile: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [r for r in profile["syscalls"] if name in r["names"]]


def unconditionally_allowed(profile: dict[str, Any]) -> set[str]:
    return {n for r in profile["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args") for n in r["names"]}


# The list issue #12 names: denied to a container with docker's default capabilities.
DENIED = ["add_key", "keyctl", "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
          "io_uring_enter", "io_uring_register", "kexec_load", "kexec_file_load", "init_module", "finit_module",
          "delete_module", "mount", "umount2", "pivot_root", "swapon", "swapoff", "reboot", "unshare", "setns",
          "open_by_handle_at", "name_to_handle_at", "fsopen", "open_tree", "move_mount", "clock_settime",
          "settimeofday", "acct", "iopl", "ioperm", "syslog", "vhangup", "lookup_dcookie", "quotactl", "kcmp",
          "pidfd_getfd", "process_madvise", "_sysctl", "uselib", "vm86", "nfsservctl", "mbind"]


def test_the_default_profile_denies_by_default_with_eperm_on_x86_64_and_its_compat_arches() -> None:
    p = default()
    assert p["defaultAction"] == "SCMP_ACT_ERRNO" and p["defaultErrnoRet"] == 1
    assert p["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    allowed = unconditionally_allowed(p)
    for name in DENIED:
        assert name not in allowed, name
        assert all(r["action"] != "SCMP_ACT_ALLOW" for r in rules_for(p, name)), name
    for name in ("read", "write", "openat", "execve", "mmap", "futex", "epoll_wait", "socket", "wait4", "chown",
                 "setuid", "arch_prctl", "modify_ldt", "rseq", "statx", "close_range"):
        assert name in allowed, name


def test_clone_keeps_threads_and_processes_but_no_namespace_flags_without_cap_sys_admin() -> None:
    p = default()
    (clone,) = rules_for(p, "clone")
    assert clone["action"] == "SCMP_ACT_ALLOW"
    assert clone["args"] == [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ"}]
    (clone3,) = rules_for(p, "clone3")
    assert (clone3["action"], clone3["errnoRet"]) == ("SCMP_ACT_ERRNO", 38)  # ENOSYS: libc falls back to clone
    assert rules_for(p, "unshare") == [] and rules_for(p, "mount") == []


def test_cap_sys_admin_opens_namespaces_and_mounts() -> None:
    p = default(DEFAULT_CAPS + ("CAP_SYS_ADMIN",))
    allowed = unconditionally_allowed(p)
    assert {"clone", "clone3", "unshare", "setns", "mount", "umount2", "bpf", "perf_event_open"} <= allowed
    assert all(r["action"] == "SCMP_ACT_ALLOW" for r in rules_for(p, "clone3"))
    assert not any(r.get("args") for r in rules_for(p, "clone"))


@pytest.mark.parametrize(("cap", "names"), [
    ("CAP_SYS_PTRACE", {"kcmp", "pidfd_getfd", "process_madvise"}), ("CAP_SYS_MODULE", {"init_module"}),
    ("CAP_SYS_TIME", {"settimeofday", "clock_settime"}), ("CAP_SYS_BOOT", {"reboot"}),
    ("CAP_DAC_READ_SEARCH", {"open_by_handle_at"}), ("CAP_BPF", {"bpf"}), ("CAP_PERFMON", {"perf_event_open"}),
    ("CAP_SYS_NICE", {"mbind", "set_mempolicy"}), ("CAP_SYSLOG", {"syslog"}), ("CAP_SYS_RAWIO", {"iopl"}),
])
def test_a_capability_opens_what_it_guards(cap: str, names: set[str]) -> None:
    assert not names & unconditionally_allowed(default())
    assert names <= unconditionally_allowed(default(DEFAULT_CAPS + (cap,)))


def test_ptrace_follows_the_kernel_rule() -> None:
    assert "ptrace" in unconditionally_allowed(default())  # 4.8 and later re-check seccomp after a tracer's change
    assert "ptrace" not in unconditionally_allowed(default(platform=OLD_KERNEL))
    assert "ptrace" in unconditionally_allowed(default(DEFAULT_CAPS + ("CAP_SYS_PTRACE",), platform=OLD_KERNEL))


def test_personality_allows_only_the_plain_execution_domains() -> None:
    values = sorted(r["args"][0]["value"] for r in rules_for(default(), "personality"))
    assert values == [0, 8, 0x20000, 0x20008, 0xFFFFFFFF]
    assert all(r["args"][0]["op"] == "SCMP_CMP_EQ" for r in rules_for(default(), "personality"))


def test_other_architectures_get_their_compat_arches_and_private_calls() -> None:
    arm = default(platform=ARM64)
    assert arm["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert "cacheflush" in unconditionally_allowed(arm) and "arch_prctl" not in unconditionally_allowed(arm)
    s390 = default(platform=S390X)
    (clone,) = rules_for(s390, "clone")
    assert clone["args"][0]["index"] == 1  # s390's clone takes its flags second


def test_every_name_in_the_default_profile_is_a_known_system_call() -> None:
    lib = pytest.importorskip("geedocker.runtime.seccomp")
    if not lib.available():
        pytest.skip("libseccomp not installed")
    resolve = lib._libseccomp().seccomp_syscall_resolve_name
    names = {n for r in json.loads(seccomp.default_profile_text())["syscalls"] for n in r["names"]}
    assert [n for n in sorted(names) if resolve(n.encode()) == -1] == []


def test_the_result_is_a_profile_the_runtime_accepts() -> None:
    parsed = Seccomp.from_json(default())
    assert parsed.default_action == "SCMP_ACT_ERRNO" and len(parsed.rules) > 10


@pytest.mark.skipif(not PODMAN_PROFILE.exists(), reason="golang-github-containers-common not installed")
def test_the_containers_common_profile_parses_with_its_rules_resolved() -> None:
    text = PODMAN_PROFILE.read_text()
    p = to_oci(text, capabilities=DEFAULT_CAPS, platform=AMD64)
    assert p is not None
    assert (p["defaultAction"], p["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 38)
    assert p["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    allowed = unconditionally_allowed(p)
    assert "read" in allowed and "bpf" not in allowed and "arch_prctl" in allowed and "cacheflush" not in allowed
    # its rules that exclude CAP_AUDIT_WRITE (one of docker's defaults) are dropped; those including it stay
    socket = rules_for(p, "socket")
    assert socket and all(not r.get("args") for r in socket)
    with_admin = to_oci(text, capabilities=DEFAULT_CAPS + ("CAP_SYS_ADMIN",), platform=AMD64)
    assert with_admin is not None and "bpf" in unconditionally_allowed(with_admin)
    Seccomp.from_json(p)  # and the runtime takes the result


def test_a_profile_without_action_or_rules_is_no_filter() -> None:
    assert to_oci("{}", capabilities=()) is None
    assert to_oci({"syscalls": []}, capabilities=()) is None


def test_architectures_are_taken_as_given() -> None:
    p = to_oci({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"]}, capabilities=(),
               platform=AMD64)
    assert p == {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": []}


def test_excludes_min_kernel_and_includes_arches() -> None:
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["a"], "action": "SCMP_ACT_ERRNO", "excludes": {"minKernel": "5.4"}},
        {"names": ["b"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["arm64"]}},
        {"names": ["c"], "action": "SCMP_ACT_ERRNO", "excludes": {"arches": ["amd64"]}},
        {"names": ["d"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_A", "CAP_B"]}},
        {"name": "e", "action": "SCMP_ACT_KILL_PROCESS"},
    ]}
    got = to_oci(prof, capabilities=("CAP_A",), platform=("amd64", "SCMP_ARCH_X86_64", (5, 10)))
    assert got is not None and [r["names"] for r in got["syscalls"]] == [["e"]]
    got = to_oci(prof, capabilities=("CAP_A", "CAP_B"), platform=("arm64", "SCMP_ARCH_AARCH64", (5, 3)))
    assert got is not None and [r["names"] for r in got["syscalls"]] == [["a"], ["b"], ["c"], ["d"], ["e"]]


@pytest.mark.parametrize(("profile", "message"), [
    ("{", "Decoding seccomp profile failed"),
    ("[]", "seccomp profile: expected a JSON object"),
    ({"defaultAction": "SCMP_ACT_NOPE"}, "defaultAction: unknown action 'SCMP_ACT_NOPE'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "ALLOW"}]},
     "syscalls[0].action: unknown action 'ALLOW'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO",
                                                        "args": [{"index": 7, "op": "SCMP_CMP_EQ"}]}]},
     "syscalls[0].args[0].index: must be 0..5"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO",
                                                        "args": [{"index": 0, "op": "EQ"}]}]},
     "syscalls[0].args[0].op: unknown comparison 'EQ'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO",
                                                        "includes": {"minKernel": "new"}}]},
     "syscalls[0].includes.minKernel: invalid kernel version 'new'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "x", "names": ["y"], "action": "SCMP_ACT_ERRNO"}]},
     "syscalls[0]: use either 'name' or 'names'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
      "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}, "'architectures' and 'archMap' were both given"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86"]}, "architectures[0]: 'x86' is no SCMP_ARCH_*"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_X"]}, "flags[0]: unknown flag"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {"names": ["x"]}}, "syscalls: expected a list"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock"}, "listenerPath: seccomp user notification"),
])
def test_bad_profiles_name_the_field(profile: Any, message: str) -> None:
    with pytest.raises(ProfileError) as e:
        to_oci(profile if isinstance(profile, str) else json.dumps(profile), capabilities=(), platform=AMD64)
    assert message in str(e.value)
    assert e.value.exit_code == 125


def test_read_profile_compacts_json_and_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text('{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n')
    assert seccomp.read_profile(str(f)) == '{"defaultAction":"SCMP_ACT_ALLOW"}'
    f.write_text("{nope")
    with pytest.raises(ProfileError, match=r"compacting json for seccomp profile \(.*p.json\) failed"):
        seccomp.read_profile(str(f))
    with pytest.raises(ProfileError, match=r"opening seccomp profile \(.*missing.json\) failed"):
        seccomp.read_profile(str(tmp_path / "missing.json"))


def test_kernel_versions_parse_as_docker_compares_them() -> None:
    assert seccomp.parse_kernel("6.18.44-fc-v1272", "k") == (6, 18)
    assert seccomp.parse_kernel("4.8", "k") == (4, 8)
    assert seccomp.parse_kernel("5", "k") == (5, 0)
    assert seccomp.host_platform()[2] >= (3, 0)


# --- --security-opt and the container's config.json -------------------------------------------------


def test_security_opts_are_kept_as_docker_keeps_them(tmp_path: Path) -> None:
    f = tmp_path / "allow.json"
    f.write_text('{ "defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [] }')
    kept, nnp = seccomp.parse_security_opts(["seccomp=unconfined", "no-new-privileges", f"seccomp={f}",
                                             "seccomp:builtin", "label=disable"])
    compact = 'seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}'
    assert kept == ("seccomp=unconfined", "no-new-privileges", compact, "seccomp:builtin", "label=disable")
    assert nnp
    assert seccomp.parse_security_opts(["no-new-privileges=false"]) == (("no-new-privileges=false",), False)
    assert seccomp.parse_security_opts(["no-new-privileges=1"])[1]


@pytest.mark.parametrize(("opt", "message"), [
    ("seccomp", 'Invalid --security-opt: "seccomp"'),
    ("seccomp=", 'Invalid --security-opt: "seccomp="'),
    ("foo=bar", 'invalid --security-opt 2: "foo=bar"'),
    ("no-new-privileges=maybe", 'invalid --security-opt 2: "no-new-privileges=maybe"'),
    ("apparmor=docker-default", "unsupported --security-opt 'apparmor=docker-default'"),
    ("seccomp=/nonexistent/p.json", "opening seccomp profile (/nonexistent/p.json) failed"),
])
def test_bad_security_opts(opt: str, message: str) -> None:
    with pytest.raises(UsageError) as e:
        seccomp.parse_security_opts([opt])
    assert message in str(e.value) and e.value.exit_code == 125


def test_a_bad_profile_file_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOPE"}]}')
    with pytest.raises(ProfileError, match=r"syscalls\[0\]\.action: unknown action 'SCMP_ACT_NOPE'"):
        seccomp.parse_security_opts([f"seccomp={f}"])


def _spec(**kw: Any) -> dict[str, Any]:
    from geedocker.containers.options import RunOptions
    from geedocker.containers.plan import Resolved, make_plan
    from geedocker.containers.spec import build_spec
    from geedocker.containers.users import ProcessUser
    from geedocker.network.options import Attachment
    from geedocker.oci import ContainerConfig
    from geedocker.runtime.capabilities import NAMES

    plan = make_plan("c" * 64, ContainerConfig(cmd=("sh",)), RunOptions(**kw), nodename="h", known_capabilities=NAMES)
    return build_spec(plan, Resolved("rootfs", ProcessUser(0, 0, (0,), "/root", "root")), Attachment())


def test_every_container_gets_the_default_profile_for_its_capabilities() -> None:
    linux = _spec()["linux"]
    assert linux["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert "mount" not in unconditionally_allowed(linux["seccomp"])
    with_admin = _spec(cap_add=("SYS_ADMIN",))["linux"]["seccomp"]
    assert "mount" in unconditionally_allowed(with_admin)
    assert _spec(security_opt=("seccomp=builtin",))["linux"]["seccomp"] == linux["seccomp"]


def test_privileged_and_unconfined_containers_have_no_filter_and_a_given_profile_is_used() -> None:
    assert "seccomp" not in _spec(privileged=True)["linux"]
    assert "seccomp" not in _spec(security_opt=("seccomp=unconfined",))["linux"]
    assert "seccomp" not in _spec(security_opt=("seccomp:unconfined",))["linux"]
    custom = '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}'
    got = _spec(security_opt=(f"seccomp={custom}",))["linux"]["seccomp"]
    assert got["defaultAction"] == "SCMP_ACT_ALLOW"
    assert got["syscalls"] == [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]
    assert "seccomp" not in _spec(privileged=True, security_opt=(f"seccomp={custom}",))["linux"]  # as docker


def test_the_engine_api_sends_the_profile_itself() -> None:
    inline = 'seccomp={"defaultAction":"SCMP_ACT_LOG"}'
    assert seccomp.parse_security_opts([inline], inline=True) == ((inline,), False)
    with pytest.raises(ProfileError, match="Decoding seccomp profile failed"):
        seccomp.parse_security_opts(["seccomp=/etc/profile.json"], inline=True)  # as docker's daemon: not a path
