"""Shared fixtures. Tests marked ``root`` are skipped when not running as root."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.store.layout import Layout

# The real registries (session-scoped, started once per run) and the fault proxy, for every test package.
from tests.support.faultproxy import fault_proxy  # noqa: F401
from tests.support.netenv import remove_test_bridge
from tests.support.registry import (  # noqa: F401
    registry_basic,
    registry_http,
    registry_tls,
    registry_tls_material,
    registry_token,
)

# Root tests share host-wide things (the test bridge, its subnet, nftables tables named after test stores): two
# runs of the suite on one host (two checkouts) take turns through this lock; runs without such tests go freely.
HOST_LOCK = Path("/run/geedocker-tests.lock")
_HOST_MARKERS = ("root", "registry", "peers")
_holds_host_lock = False


def pytest_collection_finish(session: pytest.Session) -> None:
    global _holds_host_lock
    if os.geteuid() != 0 or not any(item.get_closest_marker(m) for item in session.items for m in _HOST_MARKERS):
        return
    import fcntl

    fd = os.open(HOST_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"\nwaiting for another test run on this host ({HOST_LOCK})", flush=True)
        fcntl.flock(fd, fcntl.LOCK_EX)
    _holds_host_lock = True  # held until this process exits


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _session_host_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The host-wide lease tables and subnet claims (``Layout.host_run``) of the stores tests make: never the
    machine's /run/geedocker/host (for processes that session fixtures start, too)."""
    base = tmp_path_factory.mktemp("host-run")
    old = os.environ.get("GEEDOCKER_HOST_RUN")
    os.environ["GEEDOCKER_HOST_RUN"] = str(base / "session")
    yield base
    if old is None:
        os.environ.pop("GEEDOCKER_HOST_RUN", None)
    else:
        os.environ["GEEDOCKER_HOST_RUN"] = old


_host_runs = 0


@pytest.fixture(autouse=True)
def _host_run(_session_host_run: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own host-wide tables (made on first use): what one test's stores claim is not another's.
    The stores of one test (two --roots on one bridge) share them, as the stores of one host do."""
    global _host_runs
    _host_runs += 1
    path = _session_host_run / str(_host_runs)
    monkeypatch.setenv("GEEDOCKER_HOST_RUN", str(path))
    return path


@pytest.fixture(scope="session", autouse=True)
def _remove_test_bridge() -> Iterator[None]:
    """Containers of the engine and integration tests use a test bridge; it goes when the session ends."""
    yield
    if _holds_host_lock:
        remove_test_bridge()


def _test_tables() -> set[str]:
    """nftables tables named as geedocker names a store's (``geedocker-<crc32 of its root>``)."""
    if os.geteuid() != 0 or shutil.which("nft") is None:
        return set()
    out = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True).stdout
    names = {line.split()[-1] for line in out.splitlines() if line.startswith("table ip ")}
    return {n for n in names if n.startswith("geedocker-")}


_store_tables: set[str] = set()  # the tables of the stores ``layout`` made (found even once a test removed its dir)


def _tables_of_stores_under(base: Path, depth: int = 6) -> set[str]:
    """The table names of the stores under ``base`` (a dir holding ``blobs/`` and ``layers/``), as
    ``nft.table_name`` names them: the tables this run's stores may have made."""
    from geedocker.network import nft

    out: set[str] = set()
    todo = [(base, 0)]
    while todo:
        d, level = todo.pop()
        if (d / "blobs").is_dir() and (d / "layers").is_dir():
            out.add(nft.table_name(Layout(d, d / "run")))
            continue  # a store's own dirs (unpacked layers, containers) hold no other store
        if level < depth:
            with contextlib.suppress(OSError):
                todo += [(e, level + 1) for e in d.iterdir() if e.is_dir() and not e.is_symlink()]
    return out


@pytest.fixture(scope="session", autouse=True)
def _no_firewall_tables_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A bridge network's rules outlive its containers: every test that makes a store's table removes it.
    Only the tables of stores this run made (under its temp dir) are judged and removed: other stores on this
    host (a user's, a demo's) may make tables while the tests run, and those are not ours."""
    if not _holds_host_lock:  # no root test ran: another run's tables are not this one's to judge
        yield
        return
    before = _test_tables()
    yield
    ours = _store_tables | _tables_of_stores_under(tmp_path_factory.getbasetemp())
    left = sorted((_test_tables() - before) & ours)
    for name in left:
        subprocess.run(["nft", "delete", "table", "ip", name], capture_output=True)
    if left:
        pytest.fail(f"the tests left nftables tables behind: {', '.join(left)}")


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    """A fresh store in a temp dir."""
    lay = Layout(tmp_path / "root", tmp_path / "run")
    lay.ensure()
    from geedocker.network import nft

    _store_tables.add(nft.table_name(lay))
    return lay
