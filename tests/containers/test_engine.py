"""The engine of a layout: one per process, its stores and backends made once (and no one else makes them)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from geedocker.containers.backend import GeeRuntimeBackend, OciCliBackend
from geedocker.containers.engine import Engine
from geedocker.containers.store import ContainerStore
from geedocker.store.blobs import BlobStore
from geedocker.store.images import ImageStore
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout
from geedocker.volumes.store import VolumeStore
from tests.support.fake_backend import FakeBackend

SRC = Path(__file__).resolve().parents[2] / "src" / "geedocker"


def test_one_engine_per_layout(tmp_path: Path) -> None:
    a = Layout.from_env(tmp_path / "a")
    assert Engine.of(a) is Engine.of(Layout.from_env(tmp_path / "a"))  # an equal layout: the same engine
    assert Engine.of(a) is not Engine.of(Layout.from_env(tmp_path / "b"))
    assert Engine.of(a).layout == a


def test_its_stores_are_made_once_and_are_of_its_layout(tmp_path: Path) -> None:
    layout = Layout.from_env(tmp_path)
    engine = Engine.of(layout)
    for attr, cls in (("containers", ContainerStore), ("images", ImageStore), ("blobs", BlobStore),
                      ("layers", LayerStore), ("volumes", VolumeStore)):  # fmt: skip
        store = getattr(engine, attr)
        assert isinstance(store, cls)
        assert store.layout == layout
        assert getattr(engine, attr) is store


def test_a_builtin_backend_is_made_once_per_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEEDOCKER_OCI_RUNTIME", raising=False)
    engine = Engine.of(Layout.from_env(tmp_path))
    own = engine.backend()
    assert isinstance(own, GeeRuntimeBackend)
    assert engine.backend("geedocker") is own
    runc = engine.backend("runc")
    assert isinstance(runc, OciCliBackend) and runc is engine.backend("runc") and runc is not own
    monkeypatch.setenv("GEEDOCKER_OCI_RUNTIME", "runc")
    assert engine.backend() is runc  # the configured default is read at each call


def test_a_registered_backend_is_asked_for_anew(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.of(Layout.from_env(tmp_path))
    with FakeBackend().installed(monkeypatch) as first:
        assert engine.backend() is first
    with FakeBackend().installed(monkeypatch) as second:
        assert engine.backend() is second  # not the first one, kept from before


STORES = {"ContainerStore", "ImageStore", "BlobStore", "LayerStore", "VolumeStore", "get_backend"}


def test_commands_and_the_engine_reach_stores_through_it() -> None:
    """No module of the packages above images/ and volumes/ builds a store or a backend itself."""
    made = []
    for pkg in ("containers", "api", "build", "cli"):
        for p in sorted((SRC / pkg).rglob("*.py")):
            if p.name in ("engine.py", "backend.py", "store.py") and pkg == "containers":
                continue
            for node in ast.walk(ast.parse(p.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in STORES:
                    made.append(f"{p.relative_to(SRC)}:{node.lineno} {node.func.id}")
    assert made == []
