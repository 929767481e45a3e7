"""The container process's own settings, applied in the child just before exec.

Order (as runc): rlimits, bounding set dropped (needs CAP_SETPCAP, so before the user switch), keep
caps, groups/gid/uid, the other capability sets, no_new_privs, umask, cwd (resolved in the container,
checked to be inside it), the executable looked up, fds beyond stdio closed, signals reset, exec.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import stat
import sys

from geedocker.errors import CommandNotExecutable, CommandNotFound, ContainerError
from geedocker.runtime import capabilities, syscalls
from geedocker.runtime.spec_process import Process

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CLOSE_RANGE_CLOEXEC = 4


class ProcessSetupError(ContainerError):
    """Setting up the container process (user, capabilities, limits, cwd) failed."""


def set_rlimits(p: Process) -> None:
    for r in p.rlimits:
        res = getattr(resource, r.type)
        # config.json says unlimited as 2^64-1 (RLIM_INFINITY as an unsigned number); Python's resource takes -1
        soft, hard = (resource.RLIM_INFINITY if v >= 2**63 else v for v in (r.soft, r.hard))
        try:
            resource.setrlimit(res, (soft, hard))
        except (OSError, ValueError) as e:
            def show(v: int) -> str:
                return "unlimited" if v == resource.RLIM_INFINITY else str(v)

            why = e.strerror.lower() if isinstance(e, OSError) and e.strerror else str(e)
            raise ProcessSetupError(f"setting {r.type} to soft {show(soft)} hard {show(hard)}: {why}") from e


def set_oom_score_adj(p: Process) -> None:
    if p.oom_score_adj is None:
        return
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(p.oom_score_adj))
    except OSError as e:
        raise ProcessSetupError(f"setting oomScoreAdj {p.oom_score_adj}: {e.strerror}") from e


def limit_bounding_set(p: Process) -> int:
    """Drop what ``p`` may not have from the bounding set (needs CAP_SETPCAP); the set as it was before.

    The effective set is left as it is: the caller may still make namespaces or mount."""
    available = capabilities.bounding_now()
    if p.capabilities is not None:
        try:
            capabilities.drop_bounding(capabilities.mask(p.capabilities.bounding) & available)
        except ContainerError as e:
            raise ProcessSetupError(str(e)) from e
    return available


def set_user_and_capabilities(p: Process, *, setgroups_allowed: bool = True, available: int | None = None) -> None:
    """User, groups and capability sets; ``available`` is ``limit_bounding_set``'s result when the caller
    has called it already (else it is called here)."""
    caps = p.capabilities
    # Capabilities this host does not let us hold cannot be given; ask for what the bounding set allows.
    if available is None:
        available = limit_bounding_set(p)
    if caps is not None:
        effective = capabilities.mask(caps.effective) & available
        permitted = capabilities.mask(caps.permitted) & available
        inheritable = capabilities.mask(caps.inheritable) & available
        ambient = capabilities.mask(caps.ambient) & available
    u = p.user
    try:
        syscalls.prctl(syscalls.PR_SET_KEEPCAPS, 1)
        if setgroups_allowed:
            os.setgroups(list(u.additional_gids))
        elif u.additional_gids:
            raise ProcessSetupError("additionalGids cannot be set: setgroups is denied in this user namespace")
        os.setresgid(u.gid, u.gid, u.gid)
        os.setresuid(u.uid, u.uid, u.uid)
        syscalls.prctl(syscalls.PR_SET_KEEPCAPS, 0)
    except OSError as e:
        raise ProcessSetupError(f"switching to uid {u.uid} gid {u.gid} groups {list(u.additional_gids)}: "
                                f"{e.strerror}") from e
    if caps is not None:
        try:
            capabilities.apply(effective, permitted, inheritable, ambient)
        except ContainerError as e:
            raise ProcessSetupError(str(e)) from e
    if u.umask is not None:
        os.umask(u.umask)
    else:
        os.umask(0o022)


def set_no_new_privs(p: Process) -> None:
    if p.no_new_privileges:
        syscalls.prctl(syscalls.PR_SET_NO_NEW_PRIVS, 1)


def change_dir(cwd: str) -> None:
    """chdir to ``cwd`` in the container (after pivot_root) and check we really are inside it."""
    try:
        os.chdir(cwd)
    except OSError as e:
        raise ProcessSetupError(f"changing to the working directory {cwd}: {e.strerror}") from e
    try:
        os.getcwd()
    except OSError as e:
        # getcwd fails with ENOENT when the cwd is not reachable from our root: a leaked host directory.
        raise ProcessSetupError(f"working directory {cwd} is outside the container") from e


def find_executable(name: str, env: dict[str, str]) -> str:
    """The path ``execve`` will run for ``name``; CommandNotFound (127) / CommandNotExecutable (126)."""
    if "/" in name:
        _check_executable(name, name)
        return name
    denied: str | None = None
    for d in env.get("PATH", DEFAULT_PATH).split(":"):
        cand = os.path.join(d or ".", name)
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            continue
        if os.access(cand, os.X_OK):
            return cand
        denied = denied or cand
    if denied is not None:
        raise CommandNotExecutable(f'exec: "{name}": {denied}: permission denied')
    raise CommandNotFound(f'exec: "{name}": executable file not found in $PATH')


def _check_executable(name: str, path: str) -> None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError) as e:
        raise CommandNotFound(f'exec: "{name}": stat {path}: no such file or directory') from e
    except PermissionError as e:
        raise CommandNotExecutable(f'exec: "{name}": stat {path}: permission denied') from e
    if stat.S_ISDIR(st.st_mode):
        raise CommandNotExecutable(f'exec: "{name}": {path} is a directory')
    if not os.access(path, os.X_OK):
        raise CommandNotExecutable(f'exec: "{name}": {path}: permission denied')


def reset_signals() -> None:
    """Default dispositions for every signal (Python ignores SIGPIPE, SIGXFSZ) and an empty mask."""
    # _signal's signal(): signal.signal's is the same plus two enum conversions per call, 62 calls before exec
    set_disposition = sys.modules["_signal"].signal
    default = int(signal.SIG_DFL)
    for sig in range(1, signal.NSIG):
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            set_disposition(sig, default)
        except (OSError, ValueError, RuntimeError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def exec_failure_code(e: OSError) -> int:
    return 127 if e.errno in (errno.ENOENT, errno.ENOTDIR) else 126
