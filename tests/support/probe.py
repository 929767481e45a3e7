"""A static program that calls system calls and prints their errno (``syscall_probe.c``), built with gcc for
the seccomp tests; the container images the tests use have no C library."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).with_name("syscall_probe.c")


def build_probe(directory: Path) -> Path:
    """``directory/probe``, or skip the test where gcc or a static C library is missing."""
    if not shutil.which("gcc"):
        pytest.skip("gcc not installed")
    out = directory / "probe"
    r = subprocess.run(["gcc", "-static", "-O1", "-o", str(out), str(SOURCE)], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        pytest.skip(f"cannot build a static program here: {r.stderr.strip()[-300:]}")
    return out


def parse(output: str) -> dict[str, int]:
    """The probe's ``NAME ERRNO`` lines -> {name: errno} (-1 for a call that killed its child)."""
    out = {}
    for line in output.splitlines():
        name, _, code = line.rpartition(" ")
        out[name] = int(code) if code.isdigit() else -1
    return out
