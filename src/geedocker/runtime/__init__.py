"""The runtime core: run an OCI runtime-spec bundle (``config.json`` + rootfs), like runc.

Public Python API (everything the ``geedocker-runtime`` command line can do, a caller can do too)::

    from geedocker import runtime as rt

    st = rt.create(root, cid, bundle, stdin=fd0, stdout=fd1, stderr=fd2)   # -> State (status CREATED)
    rt.start(root, cid)                                                   # user process exec'd -> RUNNING
    code = rt.wait(root, cid)                                             # blocks; exit status (int)
    rt.kill(root, cid, signal.SIGTERM)                                    # or rt.kill(root, cid, "TERM")
    rt.delete(root, cid)                                                  # cgroups, state dir removed
    code = rt.run(root, cid, bundle)                                      # create + start + wait + delete

``root`` is the runtime's state directory (like ``runc --root``; the engine passes
``Layout.runtime_root``). Each container keeps ``root/<id>/``::

    root/<id>/state.json   the saved state (written atomically): pids, bundle, cgroup paths, created time
    root/<id>/exec.fifo    exists while the container is CREATED; ``start`` writes it, init then execs
    root/<id>/exit.json    {"exit_code": N} written by the monitor when the container's init exits
    root/<id>/lock         flock serialising operations on one container

Values
------
``Status`` (StrEnum, values are the spec's strings): ``CREATING``, ``CREATED``, ``RUNNING``, ``STOPPED``,
``PAUSED``. Guards: ``status.can_start()`` (CREATED), ``can_kill()`` (CREATED, RUNNING, PAUSED),
``can_delete()`` (STOPPED; CREATED too, which kills the waiting init, as runc does), ``can_exec()``
(CREATED, RUNNING), ``can_pause()`` (RUNNING), ``can_resume()`` (PAUSED). A forbidden transition raises
``geedocker.errors.ContainerStateError`` naming the container, the operation and the status.

``State`` (frozen value class): ``oci_version, id, status, pid, bundle, annotations`` (the spec's state),
plus ``created`` (RFC 3339 string) and ``exit_code`` (``int | None``, known once STOPPED when a monitor
watched it). ``State.to_json() -> dict`` gives the spec's state JSON (camelCase keys).

Functions (``Fd = int | None``; ``None`` means inherit the caller's fd 0/1/2)
-------------------------------------------------------------------------------
``create(root, cid, bundle, *, pid_file=None, console_socket=None, stdin=None, stdout=None, stderr=None,
monitor=True) -> State``
    Read and validate ``bundle/config.json``, create the namespaces, cgroup (limits applied), mounts,
    devices, pivot_root, hostname, sysctls, user, capabilities, rlimits; run createRuntime and
    createContainer hooks. The container's init then waits on ``exec.fifo``. The user executable is
    looked up before ``create`` returns: a missing one raises ``CommandNotFound`` (127), one that is not
    executable ``CommandNotExecutable`` (126); the container is then cleaned up. With ``monitor=True`` a
    small detached monitor process (like conmon) is the init's parent: it records the exit status in
    ``exit.json`` so ``wait``/``state`` can report it even after the caller is gone (the monitor is the
    caller's child in its own session; ``delete`` reaps it when the caller is still its parent). With
    ``monitor=False`` (what the runc-compatible CLI uses) the init is re-parented to the caller's
    subreaper, which reaps it, as with runc. ``console_socket``: the path of a unix socket; when
    ``process.terminal`` is true the pty master is sent there with SCM_RIGHTS (runc's protocol).
    Errors: ``ContainerError`` (bad/unsupported config, setup failure, naming the field or step),
    ``NameConflictError`` if ``cid`` exists, ``UsageError`` for a bad id.
``start(root, cid) -> None``
    Let the created init exec the user process; runs poststart hooks. CREATED only.
``state(root, cid) -> State``
    Status computed live from the init pid (guarded against pid reuse by its start time).
``kill(root, cid, sig: int | str = SIGTERM, *, all: bool = False) -> None``
    ``sig`` as a number or a name (``"KILL"``, ``"SIGKILL"``, ``"9"``). ``all`` signals every process
    in the container's cgroup. Like any pid 1 of a PID namespace, the init ignores signals it has no
    handler for (SIGKILL excepted).
``delete(root, cid, *, force=False) -> None``
    Remove a STOPPED (or CREATED) container: kills what is left, removes cgroups and the state dir,
    runs poststop hooks. ``force`` kills a RUNNING one first (SIGKILL).
``wait(root, cid, timeout: float | None = None) -> int``
    Block until the init exits; its exit status: the process's own code, or 128+N when killed by
    signal N. ``TimeoutError`` after ``timeout``.
``run(root, cid, bundle, *, pid_file=None, console_socket=None, stdin=None, stdout=None, stderr=None,
keep=False) -> int``
    create + start + wait; deletes the container afterwards unless ``keep``. Returns the exit status.
``exec_(root, cid, process: dict | Path, *, console_socket=None, detach=False, pid_file=None, stdin=None,
stdout=None, stderr=None) -> int``
    Run another process (a spec ``process`` object, or the path of a process.json) in the container's
    namespaces and cgroup. Returns the exit status, or with ``detach=True`` the new process's host pid.
``list_(root) -> list[State]``
``ps(root, cid) -> list[int]``
    Host pids of the container's processes.
``pause(root, cid)`` / ``resume(root, cid)``  (freezer cgroup)
``update(root, cid, resources: dict)``  a spec ``linux.resources`` object applied to the live cgroup
``prepare_cgroup(cgroups_path, cid)`` / ``discard_cgroup(cgroups_path, cid)``  a container's cgroups made ahead
    of ``create`` by a caller that knows their path early (the kernel's migration wait then overlaps the
    caller's work), and removed again if ``create`` does not come

Layout of the package (one module per kernel concept)
-----------------------------------------------------
``syscalls`` (the one ctypes module), ``spec`` (config.json -> frozen value classes, refusing what we do
not honour), ``namespaces``, ``rootfs``, ``paths`` (safe resolution inside the rootfs), ``devices``,
``capabilities``, ``signals``, ``process`` (child side: user, caps, rlimits, exec), ``console``,
``cgroups`` (``v1``, ``v2``), ``hooks``, ``state``, ``status``, ``sync`` (parent/child messages),
``init`` (the code that runs in the forked children), ``creation`` (``create`` in named steps, with the
messages' diagram), ``children`` (the forked processes seen from the runtime: pidfd kill, wait, reap),
``container`` (the other operations), ``seccomp``
(libseccomp binding), ``cli`` (runc's command line: ``geedocker-runtime``; its flags in ``cli_parser``, its
commands beside run in ``cli_exec``, ``cli_query`` and ``cli_spec``).

``linux.seccomp`` is compiled with libseccomp (Debian libseccomp2, through ctypes, module ``seccomp``)
and applied to the init and to exec'd processes; ``GEEDOCKER_IGNORE_SECCOMP=1`` skips it (logged as a
warning). Seccomp user notification (``listenerPath``) is refused.

Not honoured (refused with ``ContainerError`` naming the field): ``process.apparmorProfile``,
``process.selinuxLabel``, ``linux.intelRdt``, ``linux.personality``, ``linux.mountLabel``,
``linux.timeOffsets``, ``linux.resources.{blockIO,hugepageLimits,network,rdma}``, idmapped mounts,
unknown namespace types. Device cgroup rules are enforced on v1 (with runc's default allow-list
appended); on v2 they are logged as not enforced (that needs eBPF). The systemd cgroup driver is refused.
A ``cgroup``/``cgroup2`` mount shows the container's own cgroup directories, bound from the host's
hierarchies (read-only as the spec says), with or without a cgroup namespace.
"""

from __future__ import annotations

from geedocker.runtime.state import State
from geedocker.runtime.status import Status

TYPE_CHECKING = False  # as typing.TYPE_CHECKING
if TYPE_CHECKING:
    from pathlib import Path

    from geedocker.runtime.container import (
        create,
        delete,
        discard_cgroup,
        exec_,
        kill,
        list_,
        pause,
        prepare_cgroup,
        ps,
        resume,
        run,
        start,
        update,
        wait,
    )


# The operations load on first use (PEP 562): ``ps``, ``inspect`` and the other everyday commands read
# ``runtime.paths`` and ``runtime.state`` without the namespaces, cgroups and ctypes of ``runtime.container``.
# ``state`` is both a function and a submodule: the function is bound here, after the submodule was imported
# above, so ``runtime.state(...)`` stays callable.
def state(root: Path | str, cid: str) -> State:
    from geedocker.runtime.container import state as state_of

    return state_of(root, cid)


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from geedocker.runtime import container

    found = getattr(container, name)
    globals()[name] = found  # kept, and so never asked for again
    return found


__all__ = [
    "State",
    "Status",
    "create",
    "delete",
    "discard_cgroup",
    "exec_",
    "kill",
    "list_",
    "pause",
    "prepare_cgroup",
    "ps",
    "resume",
    "run",
    "start",
    "state",
    "update",
    "wait",
]
