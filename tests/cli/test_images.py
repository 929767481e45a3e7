"""``images``: --format (templates, table, json), -q and --filter, as docker's."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from geedocker.cli.main import main
from geedocker.images.importer import import_rootfs
from geedocker.store.layout import Layout
from tests.support.layers import file, layer_tar


@pytest.fixture
def root(tmp_path: Path) -> Path:
    layout = Layout(tmp_path / "root", tmp_path / "run")
    import_rootfs(layout, io.BytesIO(layer_tar([file("a.txt", "a\n")])), "test/one:1", changes=("LABEL tier=front",))
    import_rootfs(layout, io.BytesIO(layer_tar([file("b.txt", "bb\n")])), "other/two:latest")
    return tmp_path


def images(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--root", str(root / "root"), "--run-root", str(root / "run"), "images", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_template_table_and_json(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = images(root, capsys, "--format", "{{.Repository}}:{{.Tag}}")
    assert code == 0 and sorted(out.splitlines()) == ["other/two:latest", "test/one:1"]
    code, out, _ = images(root, capsys, "--format", "table {{.Repository}}\t{{.Tag}}")
    lines = out.splitlines()
    assert lines[0] == "REPOSITORY   TAG"
    assert sorted(lines[1:]) == ["other/two    latest", "test/one     1"]
    code, out, _ = images(root, capsys, "--format", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert sorted(rows[0]) == ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository",
                               "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"]
    assert {r["Digest"] for r in rows} == {"<none>"} and '"\\u003cnone\\u003e"' in out  # docker's escaping
    code, out, _ = images(root, capsys)
    assert out.splitlines()[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]


def test_filters(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fmt = ("--format", "{{.Repository}}")
    assert images(root, capsys, "--filter", "label=tier=front", *fmt)[1] == "test/one\n"
    assert images(root, capsys, "--filter", "reference=other/*", *fmt)[1] == "other/two\n"
    assert images(root, capsys, "--filter", "reference=*/one:1", *fmt)[1] == "test/one\n"
    assert images(root, capsys, "--filter", "dangling=true", *fmt)[1] == ""
    code, out, err = images(root, capsys, "--filter", "color=red")
    assert (code, out) == (1, "") and "Error response from daemon: Invalid filter 'color'" in err


def test_template_error_exits_1_with_docker_message(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = images(root, capsys, "--format", "{{.Nope}}")
    assert code == 1 and out == ""
    assert err == ('template parsing error: template: :1:2: executing "" at <.Nope>: '
                   "can't evaluate field Nope in type *formatter.ImageContext\n")


@pytest.mark.parametrize("flags", [(), ("--digests",), ("--no-trunc",), ("--digests", "--no-trunc")])
def test_the_default_table_is_the_default_templates(root: Path, capsys: pytest.CaptureFixture[str],
                                                     flags: tuple[str, ...]) -> None:
    """The default table is printed without the template engine, as docker's default template prints it."""
    template = "table {{.Repository}}\t{{.Tag}}\t" + ("{{.Digest}}\t" if "--digests" in flags else "")
    template += "{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    code, fast, _ = images(root, capsys, *flags)
    assert code == 0 and len(fast.splitlines()) == 3
    assert (code, fast) == images(root, capsys, *flags, "--format", template)[:2]
    assert images(root, capsys, *flags, "--format", "table")[1] == fast
