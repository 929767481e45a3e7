"""COPY and ADD (root): --link, .dockerignore, symlinks, missing sources, archives, git sources refused."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from geedocker.build.builder import build
from geedocker.build.context import SourceError
from geedocker.build.options import BuildOptions
from geedocker.containers.store import ContainerStore
from geedocker.errors import ArchiveError, GeeDockerError
from geedocker.images.importer import import_rootfs
from geedocker.store.images import ImageRecord
from geedocker.store.layout import Layout
from tests.support.build import BASE, build_in, files_of, path_in
from tests.support.layers import busybox_rootfs_entries, gzip_bytes, layer_tar

pytestmark = pytest.mark.root


def test_copy_link_layer_does_not_depend_on_the_base(store: Layout, tmp_path: Path) -> None:
    from geedocker.build.progress import Display
    from tests.support.layers import file, symlink

    more = [file("etc/other", "x"), symlink("app", "tmp")]
    import_rootfs(store, io.BytesIO(gzip_bytes(layer_tar([*busybox_rootfs_entries(), *more]))), "test/other:1")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("a\n")
    text = "FROM {}\nRUN echo first > /first\nCOPY --link --chown=app a.txt /app/\n"

    def build_on(base: str) -> tuple[ImageRecord, bool]:
        d = Display()
        opts = BuildOptions(dockerfile=text.format(base), context=ctx, network="none", quiet=True)
        rec = build(store, opts, out=io.StringIO(), display=d)
        return rec, next(v for v in d.vertices if "COPY" in v.name).cached

    one, cached = build_on(BASE)
    assert not cached
    two, cached = build_on("test/other:1")
    assert cached  # another base, another RUN before it: the COPY --link step is still cached
    assert one.config.diff_ids[-1] == two.config.diff_ids[-1]
    files = files_of(store, two)
    assert (files["app/a.txt"].st_uid, files["app/a.txt"].st_gid) == (1000, 1000)
    assert path_in(store, two, "app/a.txt").read_text() == "a\n" and "etc/other" in files and "first" in files
    # into an empty tree: the base's symlink /app is replaced by the layer's directory, not followed
    assert stat.S_ISDIR(files["app"].st_mode) and "tmp/a.txt" not in files


def test_dockerignore_symlinks_outside_and_missing_sources(store: Layout, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "docs").mkdir(parents=True)
    for n in ("a.md", "README.md", "README-secret.md", "keep.txt", "docs/x.md"):
        (ctx / n).write_text(n)
    (ctx / ".dockerignore").write_text("*.md\n!README*.md\nREADME-secret.md\n**/x.md\n")
    (ctx / "passwd").symlink_to("/etc/passwd")
    rec = build_in(store, ctx, f"FROM {BASE}\nCOPY . /c/\n")
    names = {n for n in files_of(store, rec) if n.startswith("c/")}
    assert names == {"c/README.md", "c/keep.txt", "c/docs", "c/passwd", "c/Dockerfile", "c/.dockerignore"}
    assert os.readlink(path_in(store, rec, "c/passwd")) == "/etc/passwd"  # copied as a link, never followed
    with pytest.raises(SourceError, match="file not found"):
        build_in(store, ctx, f"FROM {BASE}\nCOPY passwd /p\n")  # named: resolved inside the context, missing
    with pytest.raises(SourceError, match="nothere"):
        build_in(store, ctx, f"FROM {BASE}\nCOPY nothere /p\n")


def test_add_archives_and_hostile_ones(store: Layout, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tf:
        ti = tarfile.TarInfo("pkg/file")
        ti.size = 2
        tf.addfile(ti, io.BytesIO(b"hi"))
    (ctx / "a.tar.xz").write_bytes(buf.getvalue())
    rec = build_in(store, ctx, f"FROM {BASE}\nADD a.tar.xz /opt/\nCOPY a.tar.xz /c/\n")
    files = files_of(store, rec)
    assert "opt/pkg/file" in files and "c/a.tar.xz" in files
    bad = io.BytesIO()
    with tarfile.open(fileobj=bad, mode="w:gz") as tf:
        ti = tarfile.TarInfo("../../escape")
        ti.size = 1
        tf.addfile(ti, io.BytesIO(b"x"))
    (ctx / "bad.tgz").write_bytes(bad.getvalue())
    with pytest.raises(ArchiveError):
        build_in(store, ctx, f"FROM {BASE}\nADD bad.tgz /opt/\n")
    assert not (tmp_path / "escape").exists()


def test_add_of_a_git_source_is_refused_clearly(store: Layout, tmp_path: Path) -> None:
    for src in ("https://github.com/moby/buildkit.git#v0.10.1", "git@github.com:moby/buildkit.git",
                "git://example.com/repo", "ssh://git@example.com/repo.git"):
        with pytest.raises(GeeDockerError, match=r"line 2: ADD: .*git sources are not supported"):
            build_in(store, tmp_path / "ctx", f"FROM {BASE}\nADD {src} /src\n")
    with pytest.raises(GeeDockerError, match="--keep-git-dir: git sources are not supported"):
        build_in(store, tmp_path / "ctx", f"FROM {BASE}\nADD --keep-git-dir=true https://example.com/r.git /s\n")
    assert ContainerStore(store).ids() == []
