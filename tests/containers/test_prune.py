"""``containers.prune`` (the passes the CLI and the API share): images, with docker's filters and the bytes that
really went. Images come from ``import`` (no registry, no root); containers and networks are covered through the
clients (tests/api/test_prune_clients.py) and against dockerd (tests/integration/test_docker_compat.py)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from geedocker.cli.main import main
from geedocker.containers import prune
from geedocker.containers.filters import FilterError
from geedocker.store.images import ImageStore
from geedocker.store.layout import Layout


def _import(tmp_path: Path, ref: str, size: int, *changes: str) -> str:
    """An image of one file of ``size`` random bytes, tagged ``ref``: its id."""
    tar = tmp_path / f"{ref.replace(':', '_')}-{size}.tar"
    data = os.urandom(size)
    with tarfile.open(tar, "w") as tf:
        info = tarfile.TarInfo("f")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    args = [x for c in changes for x in ("-c", c)]
    assert main(["--root", str(tmp_path / "root"), "--run-root", str(tmp_path / "run"), "import", *args, str(tar),
                 ref]) == 0  # fmt: skip
    return str(ImageStore(_layout(tmp_path)).resolve(ref).id)


def _layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "root", tmp_path / "run")


def _ids(tmp_path: Path) -> set[str]:
    return {str(r.id) for r in ImageStore(_layout(tmp_path)).records()}


def test_dangling_images_go_by_default_with_the_bytes_of_their_layers(tmp_path: Path) -> None:
    old = _import(tmp_path, "x:1", 50_000)
    new = _import(tmp_path, "x:1", 20_000)  # the tag moves: the old image is dangling
    got = prune.images(_layout(tmp_path), {})
    assert got.deleted == (f"Deleted: {old}",) and got.errors == ()
    assert 50_000 < got.reclaimed <= 70_000  # its layer's tar stream: the file, headers, padding
    assert _ids(tmp_path) == {new}
    assert prune.images(_layout(tmp_path), {}) == prune.Pruned()


def test_unused_images_with_dangling_false_and_the_label_and_until_filters(tmp_path: Path) -> None:
    keep = _import(tmp_path, "keep:1", 1000)
    go = _import(tmp_path, "go:1", 1000, "LABEL prune=yes")
    layout = _layout(tmp_path)
    assert prune.images(layout, {"dangling": ["false"], "until": ["2000-01-01T00:00:00Z"]}).deleted == ()
    got = prune.images(layout, {"dangling": ["false"], "label": ["prune=yes"]})
    assert got.deleted == ("Untagged: go:1", f"Deleted: {go}") and got.reclaimed > 1000
    got = prune.images(layout, {"dangling": ["0"], "label!": ["other"], "until": ["1h"]})
    assert got.deleted == ()  # younger than an hour
    assert _ids(tmp_path) == {keep}


@pytest.mark.parametrize(("f", "message"), [
    ({"bogus": ["1"]}, "Invalid filter 'bogus'"),
    ({"dangling": ["maybe"]}, "Invalid filter 'dangling=[maybe]'"),
    ({"until": ["junk"]}, 'failed to parse value as time or duration: "junk"'),
])  # fmt: skip
def test_bad_filters_are_dockerds_errors_and_remove_nothing(tmp_path: Path, f: dict[str, list[str]],
                                                            message: str) -> None:  # fmt: skip
    _import(tmp_path, "x:1", 100)
    _import(tmp_path, "x:1", 200)
    with pytest.raises(FilterError) as e:
        prune.images(_layout(tmp_path), f)
    assert str(e.value) == message and len(_ids(tmp_path)) == 2
    for kind in (prune.containers, prune.networks):
        if "dangling" not in f:
            with pytest.raises(FilterError, match="Invalid filter|failed to parse"):
                kind(_layout(tmp_path), f)
