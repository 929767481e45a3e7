"""``linux.seccomp``: the spec's filter compiled and loaded with libseccomp (Debian's libseccomp2), via ctypes.

This binds a *library*, not system calls, so it lives here rather than in ``syscalls``. Parsing is
done by ``Seccomp.from_json`` at the edge (spec validation); ``load`` runs in the container's init just
before exec (after no_new_privs) or, without no_new_privs, while it still holds CAP_SYS_ADMIN.
Unknown syscall names are skipped (as runc does: profiles list syscalls newer than the kernel);
rules whose action equals the default action are redundant and skipped.
"""

from __future__ import annotations

import ctypes
import os

from geedocker.errors import ContainerError
from geedocker.logger import get_logger
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: every container has a profile, and typing costs ms to import
if TYPE_CHECKING:
    from typing import Any

log = get_logger(__name__)

ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000,
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000,
    "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
}
OPS = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,
}
# enum scmp_filter_attr
_ATTR_CTL_NNP = 3
_ATTR_CTL_TSYNC = 4
_ATTR_CTL_LOG = 6
_ATTR_CTL_SSB = 7
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": _ATTR_CTL_TSYNC,
    "SECCOMP_FILTER_FLAG_LOG": _ATTR_CTL_LOG,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": _ATTR_CTL_SSB,
}
EPERM = 1


class SeccompError(ContainerError):
    """A seccomp profile we cannot honour, or libseccomp refused it."""


@value
class Arg:
    index: int
    value: int
    value_two: int
    op: str


@value
class Rule:
    names: tuple[str, ...]
    action: str
    errno_ret: int | None
    args: tuple[Arg, ...]


@value
class Seccomp:
    default_action: str
    default_errno: int | None
    architectures: tuple[str, ...]
    flags: tuple[str, ...]
    rules: tuple[Rule, ...]

    @classmethod
    def from_json(cls, o: Any, where: str = "linux.seccomp") -> Seccomp:
        def fail(field: str, msg: str) -> SeccompError:
            return SeccompError(f"config.json: {where}.{field}: {msg}")

        if not isinstance(o, dict):
            raise SeccompError(f"config.json: {where}: expected an object")
        for key in ("listenerPath", "listenerMetadata"):
            if o.get(key):
                raise fail(key, "seccomp user notification is not supported by the geedocker runtime")
        default = o.get("defaultAction", "")
        if default not in ACTIONS:
            raise fail("defaultAction", f"unsupported action {default!r}")
        archs = o.get("architectures") or []
        flags = o.get("flags") or []
        if not isinstance(archs, list) or not all(isinstance(a, str) and a.startswith("SCMP_ARCH_") for a in archs):
            raise fail("architectures", "expected a list of SCMP_ARCH_* names")
        for f in flags:
            if f not in FLAGS:
                raise fail("flags", f"unsupported flag {f!r}")
        rules = []
        for i, r in enumerate(o.get("syscalls") or []):
            w = f"syscalls[{i}]"
            if not isinstance(r, dict):
                raise fail(w, "expected an object")
            names = r.get("names") or []
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise fail(f"{w}.names", "expected a list of syscall names")
            action = r.get("action", "")
            if action not in ACTIONS:
                raise fail(f"{w}.action", f"unsupported action {action!r}")
            args = []
            for j, a in enumerate(r.get("args") or []):
                if not isinstance(a, dict) or a.get("op") not in OPS:
                    op = a.get("op") if isinstance(a, dict) else a
                    raise fail(f"{w}.args[{j}]", f"unsupported comparison {op!r}")
                index = a.get("index", 0)
                if not isinstance(index, int) or not 0 <= index <= 5:
                    raise fail(f"{w}.args[{j}].index", "must be 0..5")
                args.append(Arg(index, int(a.get("value", 0)), int(a.get("valueTwo", 0)), str(a["op"])))
            errno_ret = r.get("errnoRet")
            rules.append(Rule(tuple(names), action, None if errno_ret is None else int(errno_ret), tuple(args)))
        derr = o.get("defaultErrnoRet")
        return cls(default, None if derr is None else int(derr), tuple(archs), tuple(flags), tuple(rules))


def action_value(name: str, errno_ret: int | None) -> int:
    base = ACTIONS[name]
    if name == "SCMP_ACT_ERRNO":
        return base | ((EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    if name == "SCMP_ACT_TRACE":
        return base | ((EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    return base


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


_lib: Any = None


def _libseccomp() -> Any:
    global _lib
    if _lib is None:
        import ctypes.util

        name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
        try:
            lib = ctypes.CDLL(name, use_errno=True)
        except OSError as e:
            raise SeccompError("linux.seccomp needs libseccomp (Debian package libseccomp2), which is not "
                               "installed") from e
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(_ArgCmp)]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        _lib = lib
    return _lib


def preload() -> None:
    """Load libseccomp now, in the runtime, so the forked init has it after pivot_root (the container's
    root filesystem usually lacks the library)."""
    _libseccomp()


def available() -> bool:
    try:
        _libseccomp()
        return True
    except SeccompError:
        return False


def _arch_name(spec_name: str) -> bytes:
    return spec_name.removeprefix("SCMP_ARCH_").lower().encode()


class Filter:
    """A compiled filter, loaded later (``load``) so compile errors surface before the container starts."""

    def __init__(self, profile: Seccomp, *, set_no_new_privs: bool) -> None:
        lib = _libseccomp()
        self._lib = lib
        default = action_value(profile.default_action, profile.default_errno)
        ctx = lib.seccomp_init(default)
        if not ctx:
            raise SeccompError("seccomp_init failed")
        self._ctx: int | None = ctx
        try:
            _check(lib.seccomp_attr_set(ctx, _ATTR_CTL_NNP, 1 if set_no_new_privs else 0), "setting NNP")
            for f in profile.flags:
                _check(lib.seccomp_attr_set(ctx, FLAGS[f], 1), f"flag {f}")
            for arch in profile.architectures:
                token = lib.seccomp_arch_resolve_name(_arch_name(arch))
                if token == 0:
                    log.debug("seccomp: unknown architecture %s skipped", arch)
                    continue
                rc = lib.seccomp_arch_add(ctx, token)
                if rc not in (0, -17):  # -EEXIST: the native arch is already there
                    _check(rc, f"adding architecture {arch}")
            for rule in profile.rules:
                action = action_value(rule.action, rule.errno_ret)
                if action == default:
                    continue
                for name in rule.names:
                    nr = lib.seccomp_syscall_resolve_name(name.encode())
                    if nr == -1:  # __NR_SCMP_ERROR: unknown to libseccomp
                        log.debug("seccomp: unknown syscall %s skipped", name)
                        continue
                    for conds in _condition_sets(rule.args):
                        arr = (_ArgCmp * max(len(conds), 1))()
                        for k, a in enumerate(conds):
                            arr[k].arg = a.index
                            arr[k].op = OPS[a.op]
                            arr[k].datum_a = a.value & 0xFFFFFFFFFFFFFFFF
                            arr[k].datum_b = a.value_two & 0xFFFFFFFFFFFFFFFF
                        _check(lib.seccomp_rule_add_array(ctx, action, nr, len(conds), arr), f"rule for {name}")
        except BaseException:
            self.release()
            raise

    def load(self) -> None:
        """Install the filter on this thread (it is inherited across exec), then free the context."""
        if self._ctx is None:
            raise SeccompError("seccomp filter already released")
        try:
            _check(self._lib.seccomp_load(self._ctx), "loading the filter")
        finally:
            self.release()

    def release(self) -> None:
        if self._ctx is not None:
            self._lib.seccomp_release(self._ctx)
            self._ctx = None


def _condition_sets(args: tuple[Arg, ...]) -> list[tuple[Arg, ...]]:
    """libseccomp ANDs the conditions of one rule but allows one per argument index; several conditions
    on the same index become separate rules (OR), as runc does."""
    if not args:
        return [()]
    indexes = [a.index for a in args]
    if len(set(indexes)) == len(indexes):
        return [args]
    return [(a,) for a in args]


def _check(rc: int, what: str) -> None:
    if rc < 0:
        raise SeccompError(f"seccomp: {what}: {os.strerror(-rc)}")
