"""The OCI runtime the engine hands bundles to: the project's own core, or runc/crun by their CLI.

The boundary is the bundle (``config.json`` + rootfs). ``GEEDOCKER_OCI_RUNTIME`` picks the runtime:
``geedocker`` (the default when ``geedocker.runtime`` provides ``create``), ``runc`` or ``crun`` (any
runc-compatible binary on PATH). The caller that waits for a container (the attached ``run`` or the
detached monitor) makes itself a child subreaper first, so a container init whose runtime process
exited becomes its child and ``wait`` can reap it.
"""

from __future__ import annotations

import contextlib
import importlib
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
from geedocker.store.layout import Layout
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import subprocess
    from typing import Any, Protocol

log = get_logger(__name__)

Fd = int | None


@value
class RuntimeState:
    status: str  # created, running, stopped, paused, or "" when the runtime has no such container
    pid: int
    exit_code: int | None = None  # known once stopped, if the runtime kept it


if TYPE_CHECKING:  # a Protocol only annotations use: no typing import at run time
    class Backend(Protocol):
        name: str

        def create(
            self, cid: str, bundle: Path, *, stdin: Fd, stdout: Fd, stderr: Fd, console_socket: Path | None
        ) -> int: ...

        def start(self, cid: str) -> None: ...

        def prepare(self, cid: str, cgroups_path: str) -> None:
            """Ahead of ``create``, what the runtime can do early (its cgroups); undone by ``discard``."""
            ...

        def discard(self, cid: str, cgroups_path: str) -> None: ...

        def wait(self, cid: str, pid: int) -> int: ...

        def kill(self, cid: str, sig: int, all_: bool = False) -> None: ...

        def delete(self, cid: str, force: bool = False) -> None: ...

        def state(self, cid: str) -> RuntimeState: ...

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
            ...


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
        if os.WIFEXITED(status):
            return os.WEXITSTATUS(status)
        if os.WIFSIGNALED(status):
            return 128 + os.WTERMSIG(status)


def _wait_foreign(pid: int) -> int:
    """A pid that is not our child: poll until it is gone (the exit status is then unknown: 255)."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return 255
        time.sleep(0.05)


class OciCliBackend:
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


class GeeRuntimeBackend:
    """The project's runtime core (``geedocker.runtime``), called in-process."""

    name = "geedocker"

    def __init__(self, root: Path) -> None:
        self.rt: Any = importlib.import_module("geedocker.runtime")
        self.root = root

    def create(
        self, cid: str, bundle: Path, *, stdin: Fd, stdout: Fd, stderr: Fd, console_socket: Path | None
    ) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        st = self.rt.create(
            self.root,
            cid,
            bundle,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            console_socket=console_socket,
            monitor=True,
        )
        return int(st.pid)

    def start(self, cid: str) -> None:
        self.rt.start(self.root, cid)

    def prepare(self, cid: str, cgroups_path: str) -> None:
        self.rt.prepare_cgroup(cgroups_path, cid)

    def discard(self, cid: str, cgroups_path: str) -> None:
        self.rt.discard_cgroup(cgroups_path, cid)

    def wait(self, cid: str, pid: int) -> int:
        return int(self.rt.wait(self.root, cid))

    def kill(self, cid: str, sig: int, all_: bool = False) -> None:
        with contextlib.suppress(ContainerStateError, ContainerNotFound):
            self.rt.kill(self.root, cid, sig, all=all_)

    def delete(self, cid: str, force: bool = False) -> None:
        with contextlib.suppress(ContainerNotFound):
            self.rt.delete(self.root, cid, force=force)

    def state(self, cid: str) -> RuntimeState:
        try:
            st = self.rt.state(self.root, cid)
        except ContainerNotFound:
            return RuntimeState("", 0)
        code = getattr(st, "exit_code", None)
        return RuntimeState(str(st.status), int(st.pid or 0), int(code) if code is not None else None)

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
        if console_socket is not None or detach:
            pid = self.rt.exec_(
                self.root, cid, process, console_socket=console_socket, detach=True, stdin=stdin, stdout=stdout,
                stderr=stderr,
            )
            return int(pid)
        return int(self.rt.exec_(self.root, cid, process, stdin=stdin, stdout=stdout, stderr=stderr))


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
    wanted = os.environ.get("GEEDOCKER_OCI_RUNTIME", "")
    if wanted:
        return wanted
    try:
        rt = importlib.import_module("geedocker.runtime")
    except ImportError:
        return "runc"
    return "geedocker" if hasattr(rt, "create") else "runc"


def get_backend(layout: Layout, name: str | None = None) -> Backend:
    """The runtime named ``name`` (as recorded for a container) or the configured default."""
    name = name or backend_name()
    if name == "geedocker":
        return GeeRuntimeBackend(layout.runtime_root)
    return OciCliBackend(name, layout.run / name)

