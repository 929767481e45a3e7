"""Fixtures for engine integration tests: a busybox layer dir, and an ``engine`` that runs the real CLI
against a temp store and, at teardown, force-removes every container and checks nothing is left."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.containers import create as creation
from geedocker.containers.create import RootfsSource
from geedocker.containers.options import RunOptions
from geedocker.containers.record import ContainerRecord, is_alive
from geedocker.containers.store import ContainerStore
from geedocker.network.options import NetworkOptions
from geedocker.oci import ContainerConfig
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339
from geedocker.values import replace
from tests.support.layers import make_busybox_rootfs
from tests.support.netenv import TEST_BRIDGE_ENV, drop_store_leases, remove_store_firewall, store_leases

SRC = str(Path(__file__).resolve().parents[2] / "src")
OPTS = RunOptions(net=NetworkOptions(mode="none"))  # the unprivileged tests' containers: no network to set up


@pytest.fixture(scope="session")
def busybox_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox root filesystem laid out as a layer dir (an overlay lower dir)."""
    return make_busybox_rootfs(tmp_path_factory.mktemp("layer") / "diff")


def mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]


def cgroups_named(cid: str) -> list[str]:
    found = []
    base = Path("/sys/fs/cgroup")
    for ctrl in base.iterdir():
        for sub in (ctrl / "geedocker" / cid, ctrl / "system.slice" / cid):
            if sub.exists():
                found.append(str(sub))
    return found


class Engine:
    def __init__(self, layout: Layout, layer: Path) -> None:
        self.layout = layout
        self.layer = layer
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = SRC + os.pathsep + self.env.get("PYTHONPATH", "")
        self.env["GEEDOCKER_ROOT"] = str(layout.root)
        self.env["GEEDOCKER_RUN"] = str(layout.run)
        self.env.update(TEST_BRIDGE_ENV)  # never the machine's default geedocker0
        self.seen: set[str] = set()

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "geedocker", *args]

    def cli(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self.argv(*args), input=input, capture_output=True, text=True, env=self.env, timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )  # fmt: skip
        self._note()
        return proc

    def popen(self, *args: str, **kw: object) -> subprocess.Popen[str]:
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(self.argv(*args), text=True, env=self.env, **kw)  # type: ignore[call-overload]

    def run(self, *args: str, flags: tuple[str, ...] = (), **kw: object) -> subprocess.CompletedProcess[str]:
        """``geedocker run FLAGS --rootfs <busybox> ARGS...``"""
        return self.cli("run", *flags, "--rootfs", str(self.layer), *args, **kw)  # type: ignore[arg-type]

    def _note(self) -> None:
        self.seen |= set(ContainerStore(self.layout).ids())

    def ids(self) -> list[str]:
        return ContainerStore(self.layout).ids()

    def wait_for(self, what: str, cond: object, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():  # type: ignore[operator]
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def leftovers(self, ids: set[str] | None = None) -> list[str]:
        """Everything of the engine still on the machine: mounts, dirs, cgroups, runtime state, processes, address
        leases (in the host-wide tables)."""
        left = [f"mount {m}" for m in mounts_under(self.layout.root)]
        left += [f"lease {a} of {c[:12]}" for a, c in store_leases(self.layout)]
        left += [f"container dir {c}" for c in self.ids()]
        for cid in ids if ids is not None else self.seen:
            left += [f"cgroup {c}" for c in cgroups_named(cid)]
        rt = self.layout.runtime_root
        if rt.exists():
            left += [f"runtime state {p.name}" for p in rt.iterdir() if p.is_dir()]
        return left

    def cleanup(self) -> None:
        store = ContainerStore(self.layout)
        for rec in store.list():
            self.cli("rm", "-f", rec.id)
        for rec in store.list():  # whatever rm could not remove: kill by pid (ours only) and unmount
            for pid, start in ((rec.state.pid, rec.state.pid_start), (rec.state.monitor_pid, rec.state.monitor_start)):
                if is_alive(pid, start):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, 9)
        for m in reversed(mounts_under(self.layout.root)):
            subprocess.run(["umount", "-l", m], check=False)
        remove_store_firewall(self.layout.root)
        drop_store_leases(self.layout)


@pytest.fixture
def engine(layout: Layout, busybox_layer: Path) -> Iterator[Engine]:
    eng = Engine(layout, busybox_layer)
    yield eng
    eng.cleanup()


# ---------------------------------------------------------------- containers without a bundle (unprivileged)


@pytest.fixture
def source(tmp_path: Path) -> RootfsSource:
    lower = tmp_path / "layer"
    lower.mkdir()
    return RootfsSource((lower,), ContainerConfig(cmd=("true",)), image="fake:1")


def created(layout: Layout, source: RootfsSource, monkeypatch: pytest.MonkeyPatch, name: str) -> ContainerRecord:
    """A container record as ``create`` makes it, without its bundle (no overlay: unprivileged)."""
    monkeypatch.setattr(creation, "write_bundle", lambda store, rec, plan, starting: None)
    return creation.create(layout, source, replace(OPTS, name=name))


def me_dead() -> int:
    """A pid that is not running: a child that has exited and been reaped."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def record_maker(image: str = "busybox"):  # type: ignore[no-untyped-def]
    """A ``make`` for ``ContainerStore.create``: a record of ``image`` with the id and name it is given."""

    def make(cid: str, name: str) -> ContainerRecord:
        return ContainerRecord(
            id=cid, name=name, image=image, image_id="", created=now_rfc3339(), args=("sh",),
            options=RunOptions(name=name), image_config=ContainerConfig(cmd=("sh",)), lower_dirs=("/l",),
        )  # fmt: skip

    return make
