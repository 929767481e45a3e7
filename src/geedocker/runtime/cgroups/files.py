"""Reading and writing cgroupfs files, making and removing cgroup directories."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from geedocker.runtime.cgroups.base import MAX_FILE_BYTES, OWN_PARENT, CgroupError


def read_text(path: Path) -> str:
    with open(path, "rb") as f:
        return f.read(MAX_FILE_BYTES).decode()


def write_text(path: Path, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        raise CgroupError(f"writing {value!r} to {path}: {e.strerror}") from e


def parse_pids(text: str) -> list[int]:
    return [int(x) for x in text.split()]


def remove_cgroups(dirs: list[Path], before_kill: Callable[[], None] | None = None, timeout: float = 10.0) -> None:
    """Remove a container's cgroup ``dirs``: one rmdir each in the usual case (empty, no child cgroup). Of the
    busy ones, after ``before_kill`` (v1 thaws a frozen freezer), every process is SIGKILLed, in their child
    cgroups too (made with a cgroup namespace), until none is left; then they go, deepest first."""
    busy = []
    for d in dirs:
        try:
            os.rmdir(d)
        except FileNotFoundError:
            pass
        except OSError:
            busy.append(d)
    if not busy:
        return
    if before_kill is not None:
        before_kill()
    subdirs: list[Path] = []
    for d in busy:
        subdirs.extend(sorted((Path(root) for root, _, _ in os.walk(d)), key=lambda p: len(p.parts), reverse=True))
    deadline = time.monotonic() + timeout
    for d in subdirs:
        f = d / "cgroup.procs"
        while f.exists():
            try:
                pids = parse_pids(read_text(f))
            except OSError:
                break
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise CgroupError(f"processes {pids} in {d} do not die")
            time.sleep(0.01)
    for d in subdirs:
        while True:
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise CgroupError(f"removing cgroup {d}: {e.strerror}") from e
                time.sleep(0.01)


def make_dir(d: Path) -> None:
    """mkdir -p for a cgroup; retried when a parent vanishes meanwhile (``remove_own_parent`` of another
    container that was deleted at that moment)."""
    for attempt in range(5):
        try:
            d.mkdir(parents=True, exist_ok=True)
            return
        except FileNotFoundError as e:
            if attempt == 4:
                raise CgroupError(f"creating cgroup {d}: a parent directory keeps disappearing") from e
        except OSError as e:
            raise CgroupError(f"creating cgroup {d}: {e.strerror}") from e


def remove_own_parent(d: Path) -> None:
    """After removing container cgroup ``d``: remove its parent too when it is geedocker's own and empty.

    Only the ``geedocker`` directory that geedocker's paths introduce is touched, never a parent that a
    caller named; a parent that other containers still use stays (rmdir fails, and that is fine).
    """
    if d.parent.name != OWN_PARENT:
        return
    with contextlib.suppress(OSError):
        os.rmdir(d.parent)
