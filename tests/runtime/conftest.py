"""Fixtures for the runtime core: a state root, bundles with a busybox rootfs, a runner that captures
output, and finalizers that kill and delete every container a test made."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from geedocker import runtime as rt
from geedocker.errors import ContainerError
from tests.support.bundle import base_config, busybox_template, make_bundle
from tests.support.cleanup import unmount_under


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busybox_template(tmp_path_factory.mktemp("template"))


@dataclass
class Result:
    code: int
    out: str
    err: str


class Runtime:
    """A runtime state root plus helpers; every container created through it is removed at teardown."""

    def __init__(self, base: Path, template: Path) -> None:
        self.base = base
        self.root = base / "state"
        self.template = template
        self.n = 0

    def bundle(self, config: dict[str, Any] | None = None, name: str | None = None) -> Path:
        self.n += 1
        return make_bundle(self.base / (name or f"bundle{self.n}"), config or base_config(), self.template)

    def run(self, config: dict[str, Any], cid: str | None = None, bundle: Path | None = None) -> Result:
        bundle = bundle or self.bundle(config)
        cid = cid or f"c{self.n}"
        outp, errp = self.base / f"{cid}.out", self.base / f"{cid}.err"
        with open(outp, "wb") as out, open(errp, "wb") as err, open(os.devnull, "rb") as null:
            code = rt.run(self.root, cid, bundle, stdin=null.fileno(), stdout=out.fileno(), stderr=err.fileno())
        return Result(code, outp.read_text(), errp.read_text())

    def create(self, config: dict[str, Any], cid: str | None = None, **kw: Any) -> str:
        """Create (not start) a container; its stdout/stderr go to files read by ``output``."""
        bundle = self.bundle(config)
        cid = cid or f"c{self.n}"
        with open(self.base / f"{cid}.out", "wb") as out, open(self.base / f"{cid}.err", "wb") as err, \
                open(os.devnull, "rb") as null:
            rt.create(self.root, cid, bundle, stdin=null.fileno(), stdout=out.fileno(), stderr=err.fileno(), **kw)
        return cid

    def output(self, cid: str) -> tuple[str, str]:
        return (self.base / f"{cid}.out").read_text(), (self.base / f"{cid}.err").read_text()

    def sh(self, script: str, **config_overrides: Any) -> Result:
        cfg = base_config(["sh", "-c", script])
        for k, v in config_overrides.items():
            cfg[k] = v
        return self.run(cfg)

    def cleanup(self) -> None:
        """Delete every container, then unmount what is still mounted under this test's dir: a container
        without a mount namespace mounts its /proc, /dev... in ours, and a test that failed before its delete,
        or a delete that failed, leaves them (they would keep the tmp dir busy and show in other tests' host
        mount checks)."""
        for st in rt.list_(self.root) if self.root.exists() else []:
            with contextlib.suppress(ContainerError):
                rt.delete(self.root, st.id, force=True)
        unmount_under(self.base)


@pytest.fixture
def runtime(tmp_path: Path, busybox_rootfs: Path) -> Iterator[Runtime]:
    r = Runtime(tmp_path, busybox_rootfs)
    try:
        yield r
    finally:
        r.cleanup()
