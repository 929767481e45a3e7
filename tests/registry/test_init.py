"""``geedocker.registry`` loads its names lazily (PEP 562): each still resolves to its object, none to a module."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import geedocker.registry as registry

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_every_public_name_resolves() -> None:
    for name in registry.__all__:
        obj = getattr(registry, name)
        assert not isinstance(obj, types.ModuleType), name
        assert obj.__name__ == name


def test_the_package_alone_loads_no_client() -> None:
    code = (f"import sys; sys.path.insert(0, {SRC!r})\nimport geedocker.registry.config, geedocker.registry.auth\n"
            "print(' '.join(m for m in ('urllib3', 'geedocker.registry.client', 'geedocker.registry.session', "
            "'ssl', 'http.client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stderr
