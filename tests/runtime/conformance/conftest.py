"""The conformance suite's driver: one OCI runtime command line (``geedocker-runtime`` or ``runc``), each with
a private state root, and bundles the tests write (a busybox rootfs and a ``runc spec``-like config that neither
runtime made).

containerd's model: one suite, run against every implementation. Every test takes the ``oci`` fixture,
parametrized over the runtimes, and asserts the same thing of each. Where one runtime differs (geedocker-runtime
from runc, or runc from the runtime spec), ``differs`` marks that runtime's case a strict ``xfail`` with the
difference as its reason; the README lists them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from geedocker import launcher
from tests.support.bundle import base_config, make_bundle
from tests.support.cleanup import unmount_under

RUNTIMES = ("geedocker-runtime", "runc")
_ids = itertools.count()


@dataclass
class Result:
    code: int
    out: str
    err: str


class Oci:
    """One runtime binary with a private ``--root``; every container made through it is force-deleted at
    teardown, also when the test failed."""

    def __init__(self, name: str, binary: str, base: Path, template: Path) -> None:
        self.name = name
        self.base = base
        self.root = base / "state"
        self.argv = [binary, "--root", str(self.root)]
        self.template = template
        self.ids: list[str] = []
        self.n = 0

    def new_id(self) -> str:
        """A container id no other test (nor the other runtime) uses: cgroups are named after it."""
        cid = f"conf-{self.name[:4]}-{os.getpid()}-{next(_ids)}"
        self.ids.append(cid)
        return cid

    def bundle(self, config: dict[str, Any]) -> Path:
        self.n += 1
        return make_bundle(self.base / f"bundle{self.n}", config, self.template)

    def __call__(self, *args: str, out: Path | None = None, timeout: float = 60) -> Result:
        """Run a command with stdout/stderr in files: a created container inherits them (as it does from runc),
        so pipes would stay open as long as it lives."""
        self.n += 1
        out = out or self.base / f"cmd{self.n}.out"
        err = self.base / f"cmd{self.n}.err"
        with open(out, "w") as fo, open(err, "w") as fe:
            r = subprocess.run([*self.argv, *args], stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, timeout=timeout)
        return Result(r.returncode, out.read_text(), err.read_text())

    def run(self, config: dict[str, Any], *extra: str) -> Result:
        """``run`` in the foreground: the container's own output and exit status."""
        return self("run", "--bundle", str(self.bundle(config)), *extra, self.new_id())

    def sh(self, script: str, **process: Any) -> Result:
        return self.run(base_config(["sh", "-c", script], **process))

    def create(self, config: dict[str, Any], *extra: str, out: Path | None = None) -> str:
        cid = self.new_id()
        r = self("create", "--bundle", str(self.bundle(config)), *extra, cid, out=out)
        assert r.code == 0, r.err
        return cid

    def state(self, cid: str) -> dict[str, Any]:
        r = self("state", cid)
        assert r.code == 0, r.err
        st: dict[str, Any] = json.loads(r.out)
        return st

    def wait_status(self, cid: str, status: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (st := self.state(cid))["status"] != status:
            assert time.monotonic() < deadline, f"{cid} stayed {st['status']}, not {status}"
            time.sleep(0.02)
        return st

    def cleanup(self) -> None:
        for cid in self.ids:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self("delete", "--force", cid)
        if self.root.exists():  # anything else left under this root (runc: one dir per container)
            for d in self.root.iterdir():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self("delete", "--force", d.name)
        unmount_under(self.base)  # what a failed create or delete left mounted in a bundle


@pytest.fixture(scope="session")
def runtime_binaries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """geedocker-runtime as it is installed (a launcher for this checkout's code), and Debian's runc."""
    (wrapper,) = launcher.install(tmp_path_factory.mktemp("bin"), python=launcher.preferred_python(),
                                  names=("geedocker-runtime",))
    return {"geedocker-runtime": str(wrapper), "runc": shutil.which("runc") or ""}


@pytest.fixture(params=RUNTIMES)
def oci(request: pytest.FixtureRequest, tmp_path: Path, busybox_rootfs: Path,
        runtime_binaries: dict[str, str]) -> Iterator[Oci]:
    name: str = request.param
    if not runtime_binaries[name]:
        pytest.skip(f"{name} is not installed")
    o = Oci(name, runtime_binaries[name], tmp_path, busybox_rootfs)
    try:
        yield o
    finally:
        o.cleanup()


def differs(request: pytest.FixtureRequest, oci: Oci, reason: str, runtime: str = "geedocker-runtime") -> None:
    """``runtime`` (geedocker-runtime unless named) does not do what the test asserts, as ``reason`` says: its case
    is an expected failure, strict, so that a fix shows up as XPASS and the mark goes. runc is marked only where
    it breaks the runtime spec and geedocker-runtime follows it."""
    if oci.name == runtime:
        request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))
