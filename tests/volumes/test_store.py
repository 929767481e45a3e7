"""The volume store: docker's name rules, idempotent create, metadata beside _data, atomic appearance, removal."""

from __future__ import annotations

import json
import os

import pytest

from geedocker.errors import VolumeError, VolumeNotFound
from geedocker.store.layout import Layout
from geedocker.volumes.store import ANONYMOUS_LABEL, Volume, VolumeStore, validate_name


@pytest.mark.parametrize("name", ["ab", "my_vol.1-x", "9" * 64])
def test_good_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [("a", "too short"), ("a/b", "invalid characters"), ("-ab", "invalid characters"), (".x", "invalid characters"),
     ("a b", "invalid characters")],
)  # fmt: skip
def test_bad_names(name: str, message: str) -> None:
    with pytest.raises(VolumeError, match=message) as e:
        validate_name(name)
    assert e.value.exit_code == 1


def test_create_get_list_remove(layout: Layout) -> None:
    vs = VolumeStore(layout)
    vol, made = vs.create("data", {"a": "b"}, {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    assert made and vol.labels == (("a", "b"),) and vol.option("type") == "tmpfs" and not vol.anonymous
    assert vol.created.endswith("Z") and len(vol.created) == 20
    assert vs.data("data").is_dir() and oct(os.stat(vs.data("data")).st_mode & 0o7777) == "0o755"
    meta = json.loads((vs.dir("data") / "volume.json").read_text())
    assert meta["labels"] == {"a": "b"} and meta["options"]["o"] == "size=1m"
    again, made2 = vs.create("data", {"other": "x"})  # docker: an existing volume is returned unchanged
    assert not made2 and again == vol
    anon, _ = vs.create()
    assert anon.anonymous and len(anon.name) == 64 and dict(anon.labels or ())[ANONYMOUS_LABEL] == ""
    implicit, _ = vs.create("plain")
    assert implicit.labels is None and implicit.options is None  # docker shows null for these
    assert [v.name for v in vs.list()] == sorted(["data", anon.name, "plain"])
    assert not [p for p in os.listdir(vs.base) if p.startswith(".")]  # no temp dirs left
    with vs.locked():
        vs.remove_unlocked("data")
    assert not vs.dir("data").exists()
    with pytest.raises(VolumeNotFound, match="No such volume: data"):
        vs.get("data")


@pytest.mark.parametrize(
    ("opts", "message"),
    [({"size": "1g"}, 'invalid option: "size"'), ({"type": "ext4"}, "device"), ({"device": "/dev/sda"}, "type")],
)
def test_bad_driver_options(layout: Layout, opts: dict[str, str], message: str) -> None:
    with pytest.raises(VolumeError, match=message):
        VolumeStore(layout).create("vv", None, opts)
    assert VolumeStore(layout).names() == []


def test_a_half_made_volume_is_not_listed(layout: Layout) -> None:
    vs = VolumeStore(layout)
    (vs.base / "broken" / "_data").mkdir(parents=True)  # a crash between mkdir and metadata
    (vs.base / ".new-1-abcd").mkdir()
    assert vs.names() == [] and not vs.exists("broken")


def test_roundtrip_json() -> None:
    v = Volume("n1", "2026-01-01T00:00:00Z", (("a", ""),), None)
    assert Volume.from_json(v.to_json()) == v
