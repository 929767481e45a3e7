"""``linux.seccomp``: the spec's filter compiled and loaded with libseccomp (Debian's libseccomp2), via ctypes.

This binds a *library*, not system calls, so it lives here rather than in ``syscalls``. Parsing is
done by ``Seccomp.from_json`` at the edge (spec validation); ``load`` runs in the container's init just
before exec (after no_new_privs) or, without no_new_privs, while it still holds CAP_SYS_ADMIN.
Unknown syscall names are skipped (as runc does: profiles list syscalls newer than the kernel);
rules whose action equals the default action are redundant and skipped.

Compiling a profile of a few hundred rules for three architectures takes milliseconds of every start, and so
does finding and loading libseccomp. ``prepare``, called by the runtime before it forks the container's
processes, keeps the BPF program libseccomp makes (``seccomp_export_bpf``) in a cache directory, keyed by the
profile and the kernel; a ``Filter`` made in a child of that runtime then loads the program with one
``prctl(PR_SET_SECCOMP)``, without libseccomp. A cached program is used only when its stored key matches the
profile exactly.
"""

from __future__ import annotations

import contextlib
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
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        _lib = lib
    return _lib


_programs: dict[str, bytes] = {}  # profile key -> BPF program, filled by prepare() before the runtime forks
_CACHE_VERSION = "1"


def _key(profile: Seccomp) -> str:
    u = os.uname()
    return f"{_CACHE_VERSION}\n{u.machine}\n{u.release}\n{profile!r}"


def prepare(profile: Seccomp, cache_dir: str | os.PathLike[str] | None = None) -> None:
    """Before forking: the profile's BPF program, from ``cache_dir`` or compiled (and then cached there), for the
    ``Filter`` of a child to load. Profiles with filter flags keep to libseccomp (loaded now: the container's
    root filesystem usually lacks the library)."""
    if profile.flags:
        preload()
        return
    key = _key(profile)
    if key in _programs:
        return
    import zlib  # a checksum for the file name only: the stored key is compared in full

    # a file, not a directory: the runtime's state directory holds one directory per container
    name = f".seccomp-{zlib.crc32(key.encode()):08x}.bpf"
    path = None if cache_dir is None else os.path.join(os.fspath(cache_dir), name)
    program = _read_cached(path, key) if path else None
    if program is None:
        program = _export(profile)
        if path:
            _write_cached(path, key, program)
    _programs[key] = program


def _read_cached(path: str, key: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    stored, sep, program = data.partition(b"\0")
    if not sep or stored != key.encode() or not program or len(program) % 8:
        return None
    return program


def _write_cached(path: str, key: str, program: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(key.encode() + b"\0" + program)
        os.replace(tmp, path)
    except OSError as e:  # a cache only: the next container compiles again
        log.debug("seccomp: cannot cache the program in %s: %s", path, e)
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _export(profile: Seccomp) -> bytes:
    """The BPF program libseccomp makes for ``profile`` (what ``seccomp_load`` would install)."""
    filt = Filter(profile, set_no_new_privs=False, compile_only=True)
    fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
    try:
        _check(filt._lib.seccomp_export_bpf(filt._ctx, fd), "exporting the filter")
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
        filt.release()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


def _load_program(program: bytes) -> None:
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.prctl(ctypes.c_int(_PR_SET_SECCOMP), ctypes.c_ulong(_SECCOMP_MODE_FILTER), ctypes.byref(prog),
                    ctypes.c_ulong(0), ctypes.c_ulong(0))
    if rc != 0:
        err = ctypes.get_errno()
        raise SeccompError(f"seccomp: loading the filter: {os.strerror(err)}")


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

    def __init__(self, profile: Seccomp, *, set_no_new_privs: bool, compile_only: bool = False) -> None:
        self._ctx: int | None = None
        self._program = None if compile_only or set_no_new_privs else _programs.get(_key(profile))
        if self._program is not None:
            return
        lib = _libseccomp()
        self._lib = lib
        default = action_value(profile.default_action, profile.default_errno)
        ctx = lib.seccomp_init(default)
        if not ctx:
            raise SeccompError("seccomp_init failed")
        self._ctx = ctx
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
        if self._program is not None:
            program, self._program = self._program, None
            _load_program(program)
            return
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
