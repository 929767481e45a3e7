"""``geedocker system boot`` sweeps what interrupted creates and removals left (unprivileged: nothing to start)."""

from __future__ import annotations

import os
from pathlib import Path

from geedocker.store.layout import Layout
from tests.cli.test_bad_inputs import cli


def test_boot_sweeps_interrupted_creates_removals_and_stale_names(layout: Layout) -> None:
    containers = layout.containers
    for d in (".creating-" + "a" * 64, ".removing-" + "b" * 64):
        (containers / d / "rootfs").mkdir(parents=True)
        (containers / d / "container.json").write_text('{"id": "')
    (containers / ".names").mkdir()
    (containers / ".names" / "ghost").write_text("c" * 64)
    boot = cli(layout, "system", "boot")
    assert (boot.returncode, boot.stdout, boot.stderr) == (0, "", "")
    assert set(os.listdir(containers)) - {".index"} == {".names"} and os.listdir(containers / ".names") == []


def test_check_reports_and_repairs(layout: Layout) -> None:
    from geedocker.containers.store import ContainerStore
    from tests.cli.test_ps import _container

    bad = _container(layout, "bad")
    store = ContainerStore(layout)
    store.record_path(bad.id).write_bytes(b'{"id": ')
    store.index.discard()
    left = layout.containers / (".creating-" + "a" * 64)
    left.mkdir()
    (layout.containers / ".names" / "ghost").write_text("c" * 64)
    found = cli(layout, "system", "check")
    assert found.returncode == 1, found.stderr
    assert found.stdout.splitlines() == [
        f"{left}: left by an interrupted create or removal",
        "name ghost: held for a container that is gone",
        f"container {bad.short_id} (bad): {store.record_path(bad.id)}: corrupt container record: "
        "Expecting value: line 1 column 8 (char 7) (rm -f removes it and what it held)",
    ]
    fixed = cli(layout, "system", "check", "--repair")
    assert fixed.returncode == 1  # the damaged record is left for rm -f
    assert [ln.split(":")[0] for ln in fixed.stdout.splitlines()] == [
        "repaired", "repaired", f"container {bad.short_id} (bad)"]
    assert cli(layout, "rm", "-f", "bad").returncode == 0
    clean = cli(layout, "system", "check")
    assert (clean.returncode, clean.stdout) == (0, "")


def test_check_reports_and_repairs_stale_leases_of_the_host(layout: Layout, tmp_path: Path) -> None:
    import ipaddress

    from geedocker.network.ipam import Ipam, table_path

    table = Ipam(table_path(layout.host_network, "gdtest98"), ipaddress.IPv4Network("10.213.98.0/24"),
                 ipaddress.IPv4Address("10.213.98.1"), store=str(tmp_path / "removed"))  # fmt: skip
    table.allocate("e" * 64, "10.213.98.9", netns=str(tmp_path / "removed" / "run" / "netns" / ("e" * 64)))
    line = (f"lease 10.213.98.9 (02:42:0a:d5:62:09) held for container eeeeeeeeeeee of the store at "
            f"{tmp_path / 'removed'} on bridge gdtest98: its container is gone")  # fmt: skip
    found = cli(layout, "system", "check")
    assert (found.returncode, found.stdout) == (1, line + "\n"), found.stderr
    fixed = cli(layout, "system", "check", "--repair")
    assert (fixed.returncode, fixed.stdout) == (0, f"repaired: {line}\n"), fixed.stderr
    assert table.leases() == [] and not table.path.exists()
