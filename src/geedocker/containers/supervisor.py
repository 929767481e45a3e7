"""What the monitor does for a running container (``Supervisor``): launch it through the backend (so the
container's init is the monitor's child), copy its output to the log (and to an attached caller's stdio or
terminal, through the attach socket too: ``containers.streams``), wait for the exit status, record it (with the
time of the exit) in container.json, release its network endpoint, delete the runtime's state, unmount the
rootfs, and with ``--rm`` remove the container. ``containers.monitor`` forks the monitor process that runs it;
the builder runs one in its own process (``run_captured``).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from geedocker import network
from geedocker.containers import rootfs
from geedocker.containers.engine import Engine
from geedocker.containers.logs import JsonLogWriter
from geedocker.containers.plan import engine_cgroups_path
from geedocker.containers.record import ContainerRecord, Status
from geedocker.containers.store import event
from geedocker.containers.streams import Streams
from geedocker.errors import ContainerNotFound, GeeDockerError
from geedocker.logger import get_logger
from geedocker.procs import start_time as process_start_time
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339
from geedocker.values import replace

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Callable

    from geedocker.containers.backend import Backend
    from geedocker.containers.console import ConsoleSocket

log = get_logger(__name__)


class Supervisor(Streams):
    """Launches the container (so that its init is the monitor's child), waits for its end and records it; the
    streams between are ``Streams``'."""

    def __init__(self, layout: Layout, rec: ContainerRecord, *, attach: bool,
                 output: Callable[[str, bytes], None] | None = None, attach_stdin: bool | None = None,
                 detach_keys: bytes = b"\x10\x11") -> None:
        super().__init__(layout, rec, attach=attach, output=output, attach_stdin=attach_stdin, detach_keys=detach_keys)
        self.store = Engine.of(layout).containers
        self.backend: Backend = Engine.of(layout).backend(rec.runtime or None)
        self.pid = 0

    # ------------------------------------------------------------------ start

    def launch(self) -> None:
        """Mount, create and start the container; record it running. Cleans up on failure."""
        cid = self.rec.id
        opts = self.rec.options
        bundle = self.store.bundle(cid)
        to_close: list[int] = []
        console: ConsoleSocket | None = None
        window: tuple[int, int] | None = None  # the caller's window size, set before the start
        try:
            if not rootfs.is_mountpoint(self.store.rootfs(cid)):
                lowers = [Path(p) for p in self.rec.lower_dirs]
                rootfs.mount_overlay(self.store.dir(cid), lowers, self.store.rootfs(cid), volatile=self.rec.options.rm)
            self.backend.delete(cid, force=True)  # leftovers of an earlier run of this container
            has_volumes = any(m.type == "volume" for m in opts.mounts)
            if has_volumes:
                from geedocker.containers import volumes  # here: only containers with volumes need it

                volumes.ensure_mounted(self.layout, self.rec)  # tmpfs/device volumes unmounted since the last run
            network.start(self.layout, cid)  # network hook: its endpoint (netns, veth, address, ports)
            if has_volumes:
                volumes.mount_events(self.layout, self.rec, "mount")  # after the network's, as docker's
            if opts.log_driver != "none":  # --log-driver none: the output is not kept
                from geedocker.containers.logflags import TRUE
                from geedocker.containers.logs import parse_size

                log_opts = dict(opts.log_opts)
                self.log = JsonLogWriter(self.store.log_path(cid), on_error=self._log_failed,
                                         max_size=parse_size(log_opts.get("max-size", "")),
                                         max_files=int(log_opts.get("max-file", "1") or 1),
                                         compress=log_opts.get("compress", "") in TRUE)  # fmt: skip
            stdin: int | None
            stdout: int | None = None
            stderr: int | None = None
            if opts.interactive and self.attach_stdin and not opts.tty:
                stdin = 0
            elif opts.interactive and not opts.tty:
                stdin, self.stdin_w = os.pipe()
                to_close.append(stdin)
            else:
                stdin = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
                to_close.append(stdin)
            if opts.tty:
                from geedocker.containers.console import ConsoleSocket  # tty only: it loads socket

                console = ConsoleSocket(self.layout.run / f"console-{cid[:16]}.sock")
                # stdout/stderr go nowhere: the terminal carries the output
                stdout = stderr = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
                to_close.append(stdout)
            else:
                self.out_r, stdout = os.pipe()
                self.err_r, stderr = os.pipe()
                to_close += [stdout, stderr]
            self.pid = self.backend.create(
                cid,
                bundle,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                console_socket=console.path if console else None,
            )
            if console is not None:
                self.master = console.receive()
                window = self._resize(announce=False)
            for fd in to_close:
                os.close(fd)
            to_close = []
            if opts.tty or opts.interactive:
                self._listen()
            self.backend.start(cid)
            me = os.getpid()
            self.rec = self.store.update(
                cid,
                lambda r: replace(
                    r,
                    state=replace(
                        r.state,
                        status=Status.RUNNING,
                        pid=self.pid,
                        pid_start=process_start_time(self.pid),
                        monitor_pid=me,
                        monitor_start=process_start_time(me),
                        exit_code=0,
                        started_at=now_rfc3339(),
                        finished_at="",
                        error="",
                    ),
                ),
            )
            event(self.layout, self.rec, "start")
            if window is not None:
                self._resized(*window)
        except BaseException as e:
            for fd in to_close:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._cleanup_failed(e)
            raise
        finally:
            if console is not None:
                console.close()

    def _cleanup_failed(self, e: BaseException) -> None:
        cid = self.rec.id
        with contextlib.suppress(GeeDockerError):
            self.backend.delete(cid, force=True)
        with contextlib.suppress(GeeDockerError):
            self.backend.discard(cid, engine_cgroups_path(cid))  # prepared for a run that failed before create
        with contextlib.suppress(GeeDockerError):
            rootfs.unmount(self.store.rootfs(cid))
        code = e.exit_code if isinstance(e, GeeDockerError) else 125
        with contextlib.suppress(GeeDockerError):
            self.store.update_state(
                cid, status=Status.CREATED if code == 125 else Status.EXITED, exit_code=code, error=str(e),
                finished_at=now_rfc3339() if code != 125 else "",
            )
        with contextlib.suppress(GeeDockerError):
            if self.rec.options.rm:
                network.release(self.layout, cid)  # network hook
            else:
                network.stop(self.layout, cid)  # network hook
        if self.rec.options.rm:
            with contextlib.suppress(GeeDockerError):
                self.store.remove_dir(cid, self.rec.name)
        self._close_streams()

    def _log_failed(self, error: str) -> None:
        """The log's first write error: the container goes on (its output is dropped from the log, as docker
        does); the record says so (``inspect``'s State.Error) if it can be written, an attached run in a line."""
        log.warning("container %s: %s: log entries are dropped", self.rec.id[:12], error)
        if self.attach:
            with contextlib.suppress(OSError):
                os.write(2, f"WARNING: the container's log cannot be written ({error}): entries are dropped\n"
                            .encode())  # fmt: skip
        with contextlib.suppress(GeeDockerError):
            self.store.update_state(self.rec.id, error=f"log: {error}")

    # ------------------------------------------------------------------ run (``Streams.pump``), then the end

    def wait(self) -> int:
        return self.backend.wait(self.rec.id, self.pid)

    def finish(self, code: int) -> None:
        """Record the exit, tidy up, honour --rm."""
        cid = self.rec.id
        finished = now_rfc3339()  # the exit's time, before the cleanup below
        self._close_streams()
        event(self.layout, self.rec, "die", exitCode=str(code))
        try:  # its endpoint goes with the exit, as docker's (``start`` makes a new one)
            if self.rec.options.rm:
                network.release(self.layout, cid, exited=True)  # network hook
            else:
                network.stop(self.layout, cid)  # network hook
        except GeeDockerError as e:
            log.warning("releasing the network of container %s: %s", cid[:12], e)
        has_volumes = any(m.type == "volume" for m in self.rec.options.mounts)
        if has_volumes:
            from geedocker.containers import volumes  # here: only containers with volumes need it

            volumes.mount_events(self.layout, self.rec, "unmount")
        if self.rec.options.rm:  # removed below: no record to update, but the exit code stays for ``wait``
            with contextlib.suppress(OSError):
                self.store.exit_file(cid).parent.mkdir(parents=True, exist_ok=True)
                self.store.exit_file(cid).write_text(f"{code}\n")
        else:
            try:
                oom = code == 137 and self.rec.options.memory is not None \
                    and self.backend.oom_killed(cid, engine_cgroups_path(cid))
                self._record_exit(code, finished, oom=oom)
            except ContainerNotFound:
                pass  # removed under us (rm -f)
            except GeeDockerError as e:  # a damaged record (``rm -f`` removes it) or a full disk: tidy up still
                log.warning("recording the exit of container %s: %s", cid[:12], e)
        errors: list[str] = []
        try:
            self.backend.delete(cid, force=True)
        except GeeDockerError as e:
            errors.append(str(e))
        try:
            rootfs.unmount(self.store.rootfs(cid))
        except GeeDockerError as e:
            errors.append(str(e))
        destroyed = False
        if self.rec.options.rm:
            try:
                self.store.remove_dir(cid, self.rec.name)
                destroyed = True
            except GeeDockerError as e:
                errors.append(str(e))
                with contextlib.suppress(GeeDockerError):  # it stays: say how it ended
                    self._record_exit(code, finished)
        if has_volumes:
            from geedocker.containers import volumes  # here: only containers with volumes need it

            try:  # --rm takes the container's anonymous volumes along, as docker's
                gone = self.rec.options.rm and not self.store.dir(cid).exists()
                volumes.after_exit(self.layout, self.rec, remove_anonymous=gone)
            except GeeDockerError as e:
                errors.append(str(e))
        if destroyed:  # after its volumes' events, as docker's
            event(self.layout, self.rec, "destroy")
        if errors:
            log.warning("cleaning up container %s: %s", cid[:12], "; ".join(errors))

    def _record_exit(self, code: int, finished: str, oom: bool = False) -> None:
        self.store.update_state(self.rec.id, status=Status.EXITED, exit_code=code, finished_at=finished, pid=0,
                                pid_start=0, monitor_pid=0, monitor_start=0, oom_killed=oom,
                                error=self.log_report)  # fmt: skip


def run_captured(layout: Layout, rec: ContainerRecord, output: Callable[[str, bytes], None]) -> int:
    """Start ``rec`` with its output handed to ``output(stream, data)``; its exit status. It installs no signal
    handler, so it runs in any thread (the builder runs stages side by side)."""
    sup = Supervisor(layout, rec, attach=False, output=output)
    sup.launch()
    try:
        sup.pump()
        code = sup.wait()
    except BaseException:
        with contextlib.suppress(GeeDockerError):
            sup.backend.kill(rec.id, signal.SIGKILL)
        code = sup.wait()
        sup.finish(code)
        raise
    sup.finish(code)
    return code
