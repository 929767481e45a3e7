"""The container start path stays light: the modules ``geedocker run`` and ``geedocker-runtime run`` load
must not pull in standard modules that cost milliseconds each and that they do not need (see README,
Benchmarks: every start pays for its imports)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
SLOW = ("typing", "logging", "dataclasses", "inspect", "hashlib", "shutil", "subprocess", "tempfile", "secrets",
        "datetime", "asyncio", "platform", "pyroute2", "gettext", "locale", "socket", "selectors", "urllib.parse",
        "ipaddress", "h11", "threading")

RUN_PATH = ("geedocker.cli.main", "geedocker.cli.run", "geedocker.cli.create", "geedocker.containers.lifecycle",
            "geedocker.containers.supervisor", "geedocker.containers.images", "geedocker.runtime.container",
            "geedocker.runtime.init", "geedocker.network.endpoint", "geedocker.network.netlink", "geedocker.entrypoint",
            "geedocker.containers.seccomp", "geedocker.runtime.seccomp")
RUNTIME_PATH = ("geedocker.runtime.cli", "geedocker.runtime.container", "geedocker.runtime.init",
                "geedocker.entrypoint", "geedocker.runtime.seccomp")


@pytest.mark.parametrize("modules", [RUN_PATH, RUNTIME_PATH], ids=["geedocker run", "geedocker-runtime run"])
def test_the_start_path_imports_no_slow_module(modules: tuple[str, ...]) -> None:
    code = (f"import sys; sys.path.insert(0, {SRC!r})\n"
            "from geedocker.entrypoint import import_pathlib\n"
            "import_pathlib()  # as the launchers do\n"
            + "".join(f"import {m}\n" for m in modules)
            + f"print(' '.join(sorted(m for m in {SLOW!r} if m in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
