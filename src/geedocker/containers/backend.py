"""The OCI runtime the engine hands bundles to: the project's own core, or runc/crun by their CLI.

The boundary is the bundle (``config.json`` + rootfs). ``GEEDOCKER_OCI_RUNTIME`` picks the runtime:
``geedocker`` (the default), ``runc`` or ``crun`` (any
runc-compatible binary on PATH). The caller that waits for a container (the attached ``run`` or the
detached monitor) makes itself a child subreaper first, so a container init whose runtime process
exited becomes its child and ``wait`` can reap it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from geedocker.errors import (
    CommandNotExecutable,
    CommandNotFound,
    ContainerError,
    ContainerNotFound,
    ContainerStateError,
)
from geedocker.logger import get_logger
from geedocker.procs import pid_alive
from geedocker.runtime.status import exit_status
from geedocker.store.layout import Layout
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from typing import Any

log = get_logger(__name__)

Fd = int | None


@value
class RuntimeState:
    status: str  # created, running, stopped, paused, or "" when the runtime has no such container
    pid: int
    exit_code: int | None = None  # known once stopped, if the runtime kept it
    finished_at: str = ""  # when it stopped (RFC 3339), if the runtime kept it


class Backend:
    """What the engine asks of an OCI runtime. A plain base class (not a ``typing.Protocol``: importing
    typing costs ms of every start) that the runtimes below, and the tests' ``FakeBackend``, name."""

    name: str

    def create(
        self, cid: str, bundle: Path, *, stdin: Fd, stdout: Fd, stderr: Fd, console_socket: Path | None
    ) -> int:
        """Create the container from ``bundle`` (its init waits for ``start``); the init's host pid."""
        raise NotImplementedError

    def start(self, cid: str) -> None:
        raise NotImplementedError

    def prepare(self, cid: str, cgroups_path: str) -> None:
        """Ahead of ``create``, what the runtime can do early (its cgroups); undone by ``discard``."""
        raise NotImplementedError

    def discard(self, cid: str, cgroups_path: str) -> None:
        raise NotImplementedError

    def wait(self, cid: str, pid: int) -> int:
        raise NotImplementedError

    def kill(self, cid: str, sig: int, all_: bool = False) -> None:
        raise NotImplementedError

    def delete(self, cid: str, force: bool = False) -> None:
        raise NotImplementedError

    def state(self, cid: str) -> RuntimeState:
        raise NotImplementedError

    def oom_killed(self, cid: str, cgroups_path: str) -> bool:
        """Whether the kernel's OOM killer struck in the container's cgroup (asked before ``delete``)."""
        raise NotImplementedError

    def exec_(
        self,
        cid: str,
        process: dict[str, Any],
        *,
        stdin: Fd,
        stdout: Fd,
        stderr: Fd,
        console_socket: Path | None,
        detach: bool = False,
    ) -> int:
        """The exit status; with ``detach`` or a console socket, the new process's host pid instead."""
        raise NotImplementedError


def _oom_killed(cid: str, cgroups_path: str) -> bool:
    """Read through the runtime's own cgroup driver: the engine gives runc and crun the same absolute
    cgroupsPath, so the cgroup is where geedocker's runtime would look."""
    from geedocker.runtime import cgroups

    try:
        return cgroups.for_container(cgroups_path, cid).oom_killed()
    except (ContainerError, OSError):
        return False


def _classify(message: str) -> ContainerError:
    """Docker's mapping of a runtime's failure to start the command: 127 not found, 126 not executable."""
    low = message.lower()
    if "executable file not found" in low or "no such file or directory" in low or "not found" in low:
        return CommandNotFound(message)
    if "permission denied" in low or "exec format error" in low or "is a directory" in low:
        return CommandNotExecutable(message)
    return ContainerError(message)


def set_subreaper() -> None:
    """Make the calling process adopt orphaned descendants (PR_SET_CHILD_SUBREAPER)."""
    from geedocker.runtime import syscalls

    try:
        syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
    except OSError as e:
        raise ContainerError(f"prctl(PR_SET_CHILD_SUBREAPER): {e.strerror}") from e


def wait_pid(pid: int) -> int:
    """Reap ``pid`` (our child or adopted) and return docker's exit status (128+N when killed by N)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return _wait_foreign(pid)
        except InterruptedError:
            continue
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            return exit_status(status)


def _wait_foreign(pid: int) -> int:
    """A pid that is not our child: poll until it is gone (the exit status is then unknown: 255)."""
    while pid_alive(pid):
        time.sleep(0.05)
    return 255


class OciCliBackend(Backend):
    """runc, crun, or any runc-compatible command line."""

    def __init__(self, binary: str, root: Path) -> None:
        import shutil  # here: shutil pulls in bz2, lzma and fnmatch, and the default runtime needs no lookup

        path = shutil.which(binary)
        if path is None:
            raise ContainerError(f"OCI runtime {binary!r} not found on PATH")
        self.name = binary
        self.binary = path
        self.root = root

    def _cmd(self, *args: str) -> list[str]:
        return [self.binary, "--root", str(self.root), *args]

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        import subprocess

        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise ContainerError(f"{self.name} {args[0]}: {_last_error(proc.stderr)}")
        return proc

    def create(
        self, cid: str, bundle: Path, *, stdin: Fd, stdout: Fd, stderr: Fd, console_socket: Path | None
    ) -> int:
        import subprocess

        self.root.mkdir(parents=True, exist_ok=True)
        set_subreaper()  # the init outlives runc's create: adopt it so wait() can reap it
        pid_file = bundle / "runtime.pid"
        log_file = bundle / "runtime.log"
        args = ["--log", str(log_file), "--log-format", "json", "create", "--bundle", str(bundle)]
        args += ["--pid-file", str(pid_file)]
        if console_socket is not None:
            args += ["--console-socket", str(console_socket)]
        proc = subprocess.run(
            self._cmd(*args, cid),
            stdin=stdin if stdin is not None else None,
            stdout=stdout if stdout is not None else None,
            stderr=stderr if stderr is not None else None,  # the container's: runc passes it on
        )
        if proc.returncode != 0:
            msg = _log_error(log_file)
            self.delete(cid, force=True)
            raise _classify(msg or f"{self.name} create failed with status {proc.returncode}")
        return int(pid_file.read_text().strip())

    def start(self, cid: str) -> None:
        self._run("start", cid)

    def prepare(self, cid: str, cgroups_path: str) -> None:
        pass  # the runtime makes its cgroups in create

    def discard(self, cid: str, cgroups_path: str) -> None:
        pass

    def wait(self, cid: str, pid: int) -> int:
        return wait_pid(pid)

    def oom_killed(self, cid: str, cgroups_path: str) -> bool:
        return _oom_killed(cid, cgroups_path)

    def kill(self, cid: str, sig: int, all_: bool = False) -> None:
        args = ["kill"] + (["--all"] if all_ else []) + [cid, str(sig)]
        proc = self._run(*args, check=False)
        if proc.returncode != 0 and "not running" not in proc.stderr and "does not exist" not in proc.stderr:
            raise ContainerError(f"{self.name} kill: {_last_error(proc.stderr)}")

    def delete(self, cid: str, force: bool = False) -> None:
        proc = self._run("delete", *(["--force"] if force else []), cid, check=False)
        if proc.returncode != 0 and "does not exist" not in proc.stderr and "not exist" not in proc.stderr:
            raise ContainerError(f"{self.name} delete: {_last_error(proc.stderr)}")

    def state(self, cid: str) -> RuntimeState:
        proc = self._run("state", cid, check=False)
        if proc.returncode != 0:
            return RuntimeState("", 0)
        d = json.loads(proc.stdout)
        return RuntimeState(str(d.get("status", "")), int(d.get("pid", 0)))

    def exec_(
        self,
        cid: str,
        process: dict[str, Any],
        *,
        stdin: Fd,
        stdout: Fd,
        stderr: Fd,
        console_socket: Path | None,
        detach: bool = False,
    ) -> int:
        import subprocess
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="process-") as f:
            json.dump(process, f)
            f.flush()
            args = ["exec", "--process", f.name]
            detached = detach or console_socket is not None
            if console_socket is not None:
                args += ["--console-socket", str(console_socket)]
            if detached:
                args += ["--detach", "--pid-file", f.name + ".pid"]
            p = subprocess.Popen(self._cmd(*args, cid), stdin=stdin, stdout=stdout, stderr=stderr)
            code = p.wait()
            if detached:
                if code != 0:
                    raise ContainerError(f"{self.name} exec failed with status {code}")
                pid = int(Path(f.name + ".pid").read_text())
                os.unlink(f.name + ".pid")
                return pid
            return code


class GeeRuntimeBackend(Backend):
    """The project's runtime core (``geedocker.runtime.container``), called in-process. Each method imports
    it when called: commands that only read records (ps, inspect) never load the runtime."""

    name = "geedocker"

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(
        self, cid: str, bundle: Path, *, stdin: Fd, stdout: Fd, stderr: Fd, console_socket: Path | None
    ) -> int:
        from geedocker.runtime import container as rt

        self.root.mkdir(parents=True, exist_ok=True)
        st = rt.create(self.root, cid, bundle, stdin=stdin, stdout=stdout, stderr=stderr,
                       console_socket=console_socket, monitor=True)  # fmt: skip
        return int(st.pid)

    def start(self, cid: str) -> None:
        from geedocker.runtime import container as rt

        rt.start(self.root, cid)

    def prepare(self, cid: str, cgroups_path: str) -> None:
        from geedocker.runtime import container as rt

        rt.prepare_cgroup(cgroups_path, cid)

    def discard(self, cid: str, cgroups_path: str) -> None:
        from geedocker.runtime import container as rt

        rt.discard_cgroup(cgroups_path, cid)

    def wait(self, cid: str, pid: int) -> int:
        from geedocker.runtime import container as rt

        return rt.wait(self.root, cid)

    def kill(self, cid: str, sig: int, all_: bool = False) -> None:
        from geedocker.runtime import container as rt

        with contextlib.suppress(ContainerStateError, ContainerNotFound):
            rt.kill(self.root, cid, sig, all=all_)

    def delete(self, cid: str, force: bool = False) -> None:
        from geedocker.runtime import container as rt

        with contextlib.suppress(ContainerNotFound):
            rt.delete(self.root, cid, force=force)

    def state(self, cid: str) -> RuntimeState:
        from geedocker.runtime import container as rt

        try:
            st = rt.state(self.root, cid)
        except ContainerNotFound:
            return RuntimeState("", 0)
        return RuntimeState(str(st.status), int(st.pid or 0), st.exit_code, st.finished)

    def oom_killed(self, cid: str, cgroups_path: str) -> bool:
        return _oom_killed(cid, cgroups_path)

    def exec_(
        self,
        cid: str,
        process: dict[str, Any],
        *,
        stdin: Fd,
        stdout: Fd,
        stderr: Fd,
        console_socket: Path | None,
        detach: bool = False,
    ) -> int:
        from geedocker.runtime import container as rt

        if console_socket is not None or detach:
            return rt.exec_(self.root, cid, process, console_socket=console_socket, detach=True, stdin=stdin,
                            stdout=stdout, stderr=stderr)  # fmt: skip
        return rt.exec_(self.root, cid, process, stdin=stdin, stdout=stdout, stderr=stderr)


def _last_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return lines[-1] if lines else "unknown error"


def _log_error(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")[-65536:]
    except OSError:
        return ""
    msg = ""
    for line in text.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if isinstance(d, dict) and d.get("level") in ("error", "fatal"):
            msg = str(d.get("msg", ""))
    return msg


def backend_name() -> str:
    """``GEEDOCKER_OCI_RUNTIME``, else geedocker's own runtime."""
    return os.environ.get("GEEDOCKER_OCI_RUNTIME", "") or "geedocker"


# Further backends by name (a test's FakeBackend): name -> factory of the layout.
_registered: dict[str, Callable[[Layout], Backend]] = {}


def register_backend(name: str, factory: Callable[[Layout], Backend] | None) -> None:
    """Make ``get_backend`` answer ``name`` with ``factory(layout)`` (None: forget it)."""
    if factory is None:
        _registered.pop(name, None)
    else:
        _registered[name] = factory


def is_registered(name: str) -> bool:
    """Whether ``name`` is a backend given by ``register_backend`` (made anew on each ``get_backend``)."""
    return name in _registered


def get_backend(layout: Layout, name: str | None = None) -> Backend:
    """The runtime named ``name`` (as recorded for a container) or the configured default."""
    name = name or backend_name()
    if name in _registered:
        return _registered[name](layout)
    if name == "geedocker":
        return GeeRuntimeBackend(layout.runtime_root)
    return OciCliBackend(name, layout.run / name)

