"""``run IMAGE`` pulls a missing image from a registry first (--pull missing), or always, or never."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.containers.conftest import Engine
from tests.support.layers import busybox_rootfs_entries, file, layer_tar
from tests.support.registry import TestRegistry, registry_http, registry_tls_material  # noqa: F401

pytestmark = [pytest.mark.root, pytest.mark.registry]


def test_run_pulls_a_missing_image(engine: Engine, registry_http: TestRegistry, tmp_path: Path) -> None:  # noqa: F811
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(layer_tar([*busybox_rootfs_entries(), file("etc/motd", "pulled\n")]))
    name = f"{registry_http.host}/engine/bb:1"
    assert engine.cli("import", "-c", 'CMD ["cat", "/etc/motd"]', str(tar), name).returncode == 0
    assert engine.cli("push", name).returncode == 0
    assert engine.cli("rmi", name).returncode == 0
    r = engine.cli("run", "--rm", "--pull", "never", name)
    assert r.returncode == 125 and "No such image" in r.stderr
    r = engine.cli("run", "--rm", name, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"Unable to find image '{name}' locally" in r.stderr
    assert r.stdout == "pulled\n"
    r = engine.cli("run", "--rm", name)  # now local: no pull
    assert r.stdout == "pulled\n" and "Unable to find" not in r.stderr
    r = engine.cli("run", "--rm", "--pull", "always", name)
    assert r.returncode == 0 and r.stdout == "pulled\n"
