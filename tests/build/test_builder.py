"""The builder end to end (root): instructions, layers, cache, stages, ONBUILD, bad input."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.build.builder import build
from geedocker.build.context import SourceError
from geedocker.build.errors import BuildError
from geedocker.build.options import BuildOptions
from geedocker.containers.store import ContainerStore
from geedocker.errors import ArchiveError, GeeDockerError
from geedocker.images.importer import import_rootfs
from geedocker.images.union import walk
from geedocker.store.images import ImageRecord
from geedocker.store.layout import Layout
from tests.support.cleanup import clean_store
from tests.support.layers import busybox_rootfs_entries, gzip_bytes, layer_tar

pytestmark = pytest.mark.root

BASE = "test/bb:1"

FULL = """\
FROM {base}
ARG V=1
ENV E=env$V F="x y"
LABEL k=v "q r"=$E
WORKDIR /app
COPY --chmod=600 --chown=1000:2000 a.txt sub ./
RUN echo run $V $E > r.txt && rm /etc/group && ln r.txt r2
RUN <<EOF
echo heredoc > /app/h.txt
EOF
COPY <<EOF /app/doc.txt
value $E
EOF
EXPOSE 80 53/udp 7000-7001
VOLUME /data
USER 1000:2000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --retries=3 CMD true
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo child > /tmp/child
ENTRYPOINT ["sh"]
CMD echo hi
"""


@pytest.fixture
def store(layout: Layout) -> Iterator[Layout]:
    """A store with the base image; afterwards (a failed test too) its containers, mounts and images go."""
    try:
        import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar(busybox_rootfs_entries()))), BASE,
                      changes=('CMD ["sh"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
        yield layout
    finally:
        clean_store(layout)


def _build(layout: Layout, ctx: Path, text: str, **kw: object) -> ImageRecord:
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(text)
    opts = BuildOptions(dockerfile=text, context=ctx, network="none", quiet=True, **kw)  # type: ignore[arg-type]
    return build(layout, opts, out=io.StringIO())


def _layers(layout: Layout, rec: ImageRecord) -> list[Path]:
    return [layout.layer_diff(c) for c in reversed(rec.chain_ids)]


def _files(layout: Layout, rec: ImageRecord) -> dict[str, os.stat_result]:
    return {n: st for n, _, st in walk(_layers(layout, rec))}


def _path(layout: Layout, rec: ImageRecord, name: str) -> Path:
    for n, p, _ in walk(_layers(layout, rec)):
        if n == name:
            return p
    raise AssertionError(f"{name} not in the image")


def test_instructions_config_and_layers(store: Layout, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "a.txt").write_text("a\n")
    (ctx / "sub/s.txt").write_text("s\n")
    os.link(ctx / "a.txt", ctx / "sub/hard")
    text = FULL.format(base=BASE)
    args = (("V", "2"),)
    rec = _build(store, ctx, text, build_args=args)
    cfg = rec.config.config
    assert cfg.env[-2:] == ("E=env2", "F=x y")
    assert dict(cfg.labels) == {"k": "v", "q r": "env2"}
    assert cfg.working_dir == "/app" and cfg.user == "1000:2000" and cfg.stop_signal == "SIGTERM"
    assert cfg.exposed_ports == ("53/udp", "7000/tcp", "7001/tcp", "80/tcp") and cfg.volumes == ("/data",)
    assert cfg.entrypoint == ("sh",) and cfg.cmd == ("/bin/sh", "-ec", "echo hi")
    assert cfg.get("Healthcheck") == {"Test": ["CMD-SHELL", "true"], "Interval": 30_000_000_000, "Retries": 3}
    assert cfg.get("OnBuild") == ["RUN echo child > /tmp/child"] and cfg.get("Shell") == ["/bin/sh", "-ec"]
    assert len(rec.config.diff_ids) == 1 + 5  # the base, WORKDIR, COPY, RUN, RUN, COPY
    hist = rec.config.history
    assert len(hist) == 1 + 17 and sum(1 for h in hist if not h.get("empty_layer")) == 6
    files = _files(store, rec)
    assert "etc/group" not in files and "etc/hosts" not in files and "etc/resolv.conf" not in files
    assert _path(store, rec, "app/r.txt").read_text() == "run 2 env2\n"
    assert files["app/r.txt"].st_ino == files["app/r2"].st_ino
    assert files["app/hard"].st_ino == files["app/a.txt"].st_ino  # a hard link in the context stays one
    a = files["app/a.txt"]
    assert (a.st_mode & 0o7777, a.st_uid, a.st_gid) == (0o600, 1000, 2000)
    assert _path(store, rec, "app/h.txt").read_text() == "heredoc\n"
    assert _path(store, rec, "app/doc.txt").read_text() == "value env2\n"
    # nothing changed: every layer step comes from the cache
    assert _build(store, ctx, text, build_args=args).config.diff_ids == rec.config.diff_ids
    # a changed mtime alone keeps the cache; a changed byte re-runs from the COPY on
    os.utime(ctx / "a.txt", (1, 1))
    assert _build(store, ctx, text, build_args=args).config.diff_ids == rec.config.diff_ids
    (ctx / "sub/s.txt").write_text("t\n")
    changed = _build(store, ctx, text, build_args=args).config.diff_ids
    assert changed[:2] == rec.config.diff_ids[:2] and changed[2] != rec.config.diff_ids[2]
    # ONBUILD runs in a child build and is not inherited further
    child = _build(store, tmp_path / "child", f"FROM {rec.id}\n")
    assert _path(store, child, "tmp/child").read_text() == "child\n" and child.config.config.get("OnBuild") is None


def test_multi_stage_builds_only_what_the_target_needs(store: Layout, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    rec = _build(store, ctx, f"""\
ARG BASE={BASE}
FROM $BASE AS one
RUN echo one > /one && mkdir -p /out/d && echo x > /out/d/x
FROM $BASE AS broken
RUN exit 3
FROM scratch
COPY --from=one /one /
COPY --from=0 /out/ /copied/
COPY --from=one /out /kept
""")
    assert set(_files(store, rec)) == {"one", "copied", "copied/d", "copied/d/x", "kept", "kept/d", "kept/d/x"}
    target = _build(store, ctx, f"FROM {BASE} AS a\nRUN echo a > /a\nFROM {BASE} AS b\nRUN exit 1\n", target="a")
    assert "a" in _files(store, target)


# Two stages that each wait for the other's mark in a shared cache mount: they finish only if they run at once.
MEETING = """\
ARG TRIES=600
FROM {base} AS left
ARG TRIES
RUN --mount=type=cache,id=meet,target=/m touch /m/left && \\
    i=0; while [ ! -e /m/right ]; do sleep 0.05; i=$((i+1)); [ $i -lt $TRIES ] || exit 9; done; echo l > /l
FROM {base} AS right
ARG TRIES
RUN --mount=type=cache,id=meet,target=/m touch /m/right && \\
    i=0; while [ ! -e /m/left ]; do sleep 0.05; i=$((i+1)); [ $i -lt $TRIES ] || exit 9; done; echo r > /r
FROM {base} AS broken
RUN exit 5
FROM scratch
COPY --from=left /l /
COPY --from=right /r /
"""

DIAMOND = """\
FROM {base} AS root
RUN echo root > /root.txt
FROM root AS a
RUN echo a > /a && cat /root.txt >> /a
FROM root AS b
COPY --from=a /a /from-a
RUN echo b > /b
FROM {base} AS c
WORKDIR /c
RUN echo c > c.txt
FROM scratch
COPY --from=b / /b/
COPY --from=c /c /c
COPY --from=a /a /
"""


def test_independent_stages_run_at_once_and_give_the_same_image(store: Layout, tmp_path: Path) -> None:
    rec = _build(store, tmp_path / "ctx", MEETING.format(base=BASE), parallel=2)
    assert {n: _path(store, rec, n).read_text() for n in ("l", "r")} == {"l": "l\n", "r": "r\n"}
    # the same Dockerfile one stage at a time: the first stage waits for a mark that never comes
    with pytest.raises(BuildError, match="non-zero code: 9"):
        _build(store, tmp_path / "ctx", MEETING.format(base=BASE).replace("meet", "meet2"), parallel=1,
               no_cache=True, build_args=(("TRIES", "10"),))
    # a DAG of stages: the image does not depend on the order they ran in
    def content(r: ImageRecord) -> dict[str, tuple[int, bytes]]:
        return {n: (st.st_mode, _path(store, r, n).read_bytes() if os.path.isfile(_path(store, r, n)) else b"")
                for n, st in _files(store, r).items()}

    side = _build(store, tmp_path / "ctx", DIAMOND.format(base=BASE), parallel=4)
    alone = _build(store, tmp_path / "ctx", DIAMOND.format(base=BASE), parallel=1, no_cache=True)
    assert content(side) == content(alone) and len(side.config.diff_ids) == len(alone.config.diff_ids) == 3
    assert [h["created_by"] for h in side.config.history] == [h["created_by"] for h in alone.config.history]
    assert _path(store, side, "b/from-a").read_text() == "a\nroot\n"


def test_a_failing_stage_stops_the_others(store: Layout, tmp_path: Path) -> None:
    text = f"""\
FROM {BASE} AS slow
RUN sleep 60
FROM {BASE} AS fails
RUN exit 4
FROM scratch
COPY --from=slow /bin/busybox /
COPY --from=fails /bin/busybox /x
"""
    with pytest.raises(BuildError, match="non-zero code: 4"):
        _build(store, tmp_path / "ctx", text, parallel=2)
    assert ContainerStore(store).ids() == []
    with open("/proc/self/mountinfo") as f:
        assert str(store.root) not in f.read()


def test_failing_run_leaves_nothing(store: Layout, tmp_path: Path) -> None:
    layers_before = set(os.listdir(store.layers))
    with pytest.raises(BuildError, match="returned a non-zero code: 7"):
        _build(store, tmp_path / "ctx", f"FROM {BASE}\nRUN echo out; touch /junk; exit 7\n")
    assert ContainerStore(store).ids() == []
    assert set(os.listdir(store.layers)) == layers_before
    with open("/proc/self/mountinfo") as f:
        assert str(store.root) not in f.read()
    assert not [p for p in store.tmp.iterdir() if p.name.startswith("build-")]


def test_heredoc_with_a_shebang_runs_as_a_script(store: Layout, tmp_path: Path) -> None:
    rec = _build(store, tmp_path / "ctx", f"""\
FROM {BASE}
RUN <<EOF
#!/bin/busybox sh
echo "as $0" > /script.txt
EOF
RUN <<EOF
echo "as $0" > /shell.txt
EOF
""")
    assert _path(store, rec, "script.txt").read_text() == "as /dev/pipes/EOF\n"  # run as a file, not by sh -c
    assert _path(store, rec, "shell.txt").read_text() == "as /bin/sh\n"
    assert not [n for n in _files(store, rec) if n.startswith("dev")]


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
    files = _files(store, two)
    assert (files["app/a.txt"].st_uid, files["app/a.txt"].st_gid) == (1000, 1000)
    assert _path(store, two, "app/a.txt").read_text() == "a\n" and "etc/other" in files and "first" in files
    # into an empty tree: the base's symlink /app is replaced by the layer's directory, not followed
    assert stat.S_ISDIR(files["app"].st_mode) and "tmp/a.txt" not in files


def test_a_run_that_cannot_start_leaves_nothing(store: Layout, tmp_path: Path) -> None:
    # The leak once seen after test_versus_docker.py: a RUN container whose start failed (the runtime's error,
    # not an exit status) stayed with its network namespace mounted, since the step only removed containers
    # that had started.
    for text in (f'FROM {BASE}\nRUN ["/no/such/binary"]\n', f"FROM {BASE}\nUSER nosuchuser\nRUN true\n"):
        with pytest.raises(GeeDockerError):
            _build(store, tmp_path / "ctx", text)
        assert ContainerStore(store).ids() == []
        with open("/proc/self/mountinfo") as f:
            assert str(store.root.parent) not in f.read()


def test_dockerignore_symlinks_outside_and_missing_sources(store: Layout, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "docs").mkdir(parents=True)
    for n in ("a.md", "README.md", "README-secret.md", "keep.txt", "docs/x.md"):
        (ctx / n).write_text(n)
    (ctx / ".dockerignore").write_text("*.md\n!README*.md\nREADME-secret.md\n**/x.md\n")
    (ctx / "passwd").symlink_to("/etc/passwd")
    rec = _build(store, ctx, f"FROM {BASE}\nCOPY . /c/\n")
    names = {n for n in _files(store, rec) if n.startswith("c/")}
    assert names == {"c/README.md", "c/keep.txt", "c/docs", "c/passwd", "c/Dockerfile", "c/.dockerignore"}
    assert os.readlink(_path(store, rec, "c/passwd")) == "/etc/passwd"  # copied as a link, never followed
    with pytest.raises(SourceError, match="file not found"):
        _build(store, ctx, f"FROM {BASE}\nCOPY passwd /p\n")  # named: resolved inside the context, missing
    with pytest.raises(SourceError, match="nothere"):
        _build(store, ctx, f"FROM {BASE}\nCOPY nothere /p\n")


def test_add_archives_and_hostile_ones(store: Layout, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tf:
        ti = tarfile.TarInfo("pkg/file")
        ti.size = 2
        tf.addfile(ti, io.BytesIO(b"hi"))
    (ctx / "a.tar.xz").write_bytes(buf.getvalue())
    rec = _build(store, ctx, f"FROM {BASE}\nADD a.tar.xz /opt/\nCOPY a.tar.xz /c/\n")
    files = _files(store, rec)
    assert "opt/pkg/file" in files and "c/a.tar.xz" in files
    bad = io.BytesIO()
    with tarfile.open(fileobj=bad, mode="w:gz") as tf:
        ti = tarfile.TarInfo("../../escape")
        ti.size = 1
        tf.addfile(ti, io.BytesIO(b"x"))
    (ctx / "bad.tgz").write_bytes(bad.getvalue())
    with pytest.raises(ArchiveError):
        _build(store, ctx, f"FROM {BASE}\nADD bad.tgz /opt/\n")
    assert not (tmp_path / "escape").exists()


def test_syntax_errors_name_the_line(store: Layout, tmp_path: Path) -> None:
    with pytest.raises(GeeDockerError, match="line 3: unknown instruction: BOGUS"):
        _build(store, tmp_path / "ctx", f"FROM {BASE}\n\nBOGUS x\n")
    with pytest.raises(GeeDockerError, match="emulation"):
        _build(store, tmp_path / "ctx", f"FROM --platform=linux/s390x {BASE}\n")


def test_a_stage_named_through_an_arg_is_built_before_the_step_that_reads_it(store: Layout, tmp_path: Path) -> None:
    # the scheduler once expanded --from with the globals only: the stage was not even built (KeyError)
    text = f"""\
ARG PICK=gen
FROM {BASE} AS gen
RUN sleep 0.3; echo made > /out
FROM {BASE} AS other
RUN echo other > /out
FROM {BASE} AS env
RUN echo env > /env
FROM scratch
ARG SRC=gen
COPY --from=$SRC /out /
ENV FROM_ENV=env
COPY --from=${{FROM_ENV}} /env /
"""
    rec = _build(store, tmp_path / "ctx", text, parallel=4)
    assert _path(store, rec, "out").read_text() == "made\n" and _path(store, rec, "env").read_text() == "env\n"
    rec = _build(store, tmp_path / "ctx", text, parallel=4, build_args=(("SRC", "other"),))
    assert _path(store, rec, "out").read_text() == "other\n"


def test_add_of_a_git_source_is_refused_clearly(store: Layout, tmp_path: Path) -> None:
    for src in ("https://github.com/moby/buildkit.git#v0.10.1", "git@github.com:moby/buildkit.git",
                "git://example.com/repo", "ssh://git@example.com/repo.git"):
        with pytest.raises(GeeDockerError, match=r"line 2: ADD: .*git sources are not supported"):
            _build(store, tmp_path / "ctx", f"FROM {BASE}\nADD {src} /src\n")
    with pytest.raises(GeeDockerError, match="--keep-git-dir: git sources are not supported"):
        _build(store, tmp_path / "ctx", f"FROM {BASE}\nADD --keep-git-dir=true https://example.com/r.git /s\n")
    assert ContainerStore(store).ids() == []


def test_a_local_base_of_another_platform_is_refused_naming_emulation(store: Layout, tmp_path: Path) -> None:
    from geedocker.images.compose import Base, write_image
    from geedocker.oci import ContainerConfig, Platform

    # an s390x image under a name no registry answers for (a refused port): the pull for the host's fails
    name = "127.0.0.1:1/foreign:1"
    write_image(store, Base(platform=Platform("linux", "s390x")), ContainerConfig(), names=(name,))
    with pytest.raises(GeeDockerError, match=r"line 1: image .*foreign:1 was found but is for linux/s390x.*emulation"):
        _build(store, tmp_path / "ctx", f"FROM {name}\nRUN true\n")
    with pytest.raises(GeeDockerError, match="--platform linux/s390x: .*emulation"):
        _build(store, tmp_path / "ctx", f"FROM {BASE}\n", platform="linux/s390x")
    host = Platform.host()
    variant = _build(store, tmp_path / "ctx", f"FROM --platform={host.os}/{host.architecture}/v9 {BASE}\nRUN true\n")
    assert variant.config.architecture == host.architecture  # a variant of the host's architecture builds
