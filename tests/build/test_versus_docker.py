"""The same Dockerfiles built by geedocker and by docker's builder (Debian's dockerd 20.10, classic builder), and by
buildah where the classic builder lacks a feature (COPY --chmod, RUN --mount; buildah 1.28 has no heredocs, they are
checked in test_builder.py): the same flattened file system (paths, types, modes, owners, sizes, content, link
targets; mtimes aside), config fields and layer count.

Both start from one base image: geedocker's busybox image, saved by geedocker and loaded by the peer. The peer's
result comes back through ``docker save`` / ``buildah push docker-archive:`` and ``geedocker load`` into a store of
its own, and both images are read by the same union walk.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.build.builder import build
from geedocker.build.options import BuildOptions
from geedocker.images.importer import import_rootfs
from geedocker.images.tarball import load, save
from geedocker.images.union import walk
from geedocker.store.images import ImageRecord
from geedocker.store.layout import Layout
from tests.support.cleanup import unmount_under
from tests.support.dockerd import Dockerd, dockerd  # noqa: F401
from tests.support.layers import busybox_rootfs_entries, gzip_bytes, layer_tar

pytestmark = [pytest.mark.root, pytest.mark.peers]

BASE = "test/bb:1"
CONFIG_FIELDS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "Volumes",
                 "StopSignal", "Healthcheck", "OnBuild", "Shell")

CLASSIC = {
    "everything": """\
FROM test/bb:1
ARG V=1
ENV E=env$V F="x y" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL k=v "q r"=$E
WORKDIR /app
COPY --chown=1000:2000 a.txt sub ./
COPY dir/ /trail/
COPY dir /notrail
COPY a.txt /single
COPY a.txt /intodir/
COPY a* sub/s.txt /multi/
COPY link /followed
COPY . /ctx/
ADD arch.tar.gz /ext/
ADD arch.tar.gz /ext2
ADD plain.txt /added
RUN echo run $V $E > r.txt && rm /etc/group && ln r.txt r2 && mkdir -p /gone/x && echo y > /gone/x/y && \\
    chmod 4755 r.txt && chown 12:34 r2
RUN rm -rf /gone/x && mkdir /gone/x && echo z > /gone/x/z && rm /bin/vi && mkfifo /fifo
WORKDIR rel
EXPOSE 80 53/udp
VOLUME /data
VOLUME ["/other", "/app"]
USER 1000:2000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD true
ONBUILD RUN echo child
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["sh"]
CMD echo hi
""",
    "stages": """\
ARG BASE=test/bb:1
ARG UNUSED_IN_STAGE=meta
FROM $BASE AS builder
ARG UNUSED_IN_STAGE
ARG STAGE_ONLY=s1
RUN echo "$UNUSED_IN_STAGE $STAGE_ONLY" > /args && mkdir -p /out && echo built > /out/bin
FROM $BASE AS unused
RUN echo other
FROM test/bb:1
COPY --from=builder /out/ /usr/local/bin/
COPY --from=builder /args /args
COPY --from=0 /out /copied
RUN echo "[$STAGE_ONLY]" > /no-arg
ENTRYPOINT echo shell form
""",
    "onbuild-child": """\
FROM parent:1
RUN ls /from-trigger
""",
}

BUILDAH = {
    "buildkit-features": """\
FROM test/bb:1
COPY --chmod=751 a.txt /chmod.txt
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /secret-was-seen && test ! -e /run/secrets/tok.copy
RUN --mount=type=cache,target=/cache echo cached > /cache/f && ls /cache > /cache-list
""",
}


def _context(root: Path) -> Path:
    ctx = root / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "dir/deep").mkdir(parents=True)
    (ctx / "a.txt").write_text("a\n")
    (ctx / "ab.txt").write_text("ab\n")
    (ctx / "sub/s.txt").write_text("s\n")
    (ctx / "dir/deep/f").write_text("deep\n")
    os.chmod(ctx / "dir/deep/f", 0o640)
    os.link(ctx / "a.txt", ctx / "dir/hard")
    (ctx / "dir/rel-link").symlink_to("deep/f")
    (ctx / "link").symlink_to("a.txt")
    (ctx / "outside").symlink_to("/etc/shadow")
    (ctx / "plain.txt").write_text("plain\n")
    for n in ("x.md", "README.md", "README-secret.md", "sub/y.md"):
        (ctx / n).write_text(n)
    (ctx / ".dockerignore").write_text("# docs\n*.md\n!README*.md\nREADME-secret.md\n**/y.md\nnothing-here\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("pkg/bin/tool", b"#!/bin/sh\n"), ("pkg/share/doc", b"doc")):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.uid, ti.gid, ti.mtime = len(data), 0o755, 7, 8, 1_600_000_000
            tf.addfile(ti, io.BytesIO(data))
    (ctx / "arch.tar.gz").write_bytes(buf.getvalue())
    (ctx / "secret").write_text("s3cr3t\n")
    return ctx


def _snapshot(layout: Layout, rec: ImageRecord) -> dict[str, tuple[object, ...]]:
    """The flattened tree: path -> (type, mode, uid, gid, size, sha256 | link target); hard links as their data."""
    out: dict[str, tuple[object, ...]] = {}
    for name, path, st in walk([layout.layer_diff(c) for c in reversed(rec.chain_ids)]):
        kind = stat.S_IFMT(st.st_mode)
        extra: object = None
        if stat.S_ISREG(st.st_mode):
            extra = hashlib.sha256(path.read_bytes()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            extra = os.readlink(path)
        size = st.st_size if stat.S_ISREG(st.st_mode) else 0
        out[name] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, size, extra)
    return out


def _config(rec: ImageRecord) -> dict[str, object]:
    raw = rec.config.config.to_json()
    labels = {k: v for k, v in (raw.get("Labels") or {}).items() if k != "io.buildah.version"}  # buildah's own
    raw["Labels"] = labels
    return {k: raw.get(k) or None for k in CONFIG_FIELDS}


@pytest.fixture
def base(layout: Layout, tmp_path: Path) -> Path:
    """The base image in geedocker's store, and saved as an archive for the peers."""
    import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar(busybox_rootfs_entries()))), BASE,
                  changes=('CMD ["sh"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
    archive = tmp_path / "base.tar"
    with open(archive, "wb") as f:
        save(layout, [BASE], f)
    return archive


def _geedocker(layout: Layout, ctx: Path, text: str, tag: str) -> ImageRecord:
    (ctx / "Dockerfile").write_text(text)
    opts = BuildOptions(dockerfile=text, context=ctx, dockerfile_path=ctx / "Dockerfile", tags=(tag,),
                        network="none", quiet=True, secrets=(("tok", str(ctx / "secret")),))
    return build(layout, opts, out=io.StringIO())


def _peer_image(tmp_path: Path, archive: Path) -> tuple[Layout, ImageRecord]:
    other = Layout(tmp_path / "peer-root", tmp_path / "peer-run")
    loaded = load(other, archive)
    return other, loaded[-1].record


# buildah (chroot isolation) commits the mount targets it made for RUN; geedocker leaves them out, as docker does
BUILDAH_OWN = {"dev", "proc", "sys", "run", "run/secrets", "etc/hostname", "etc/hosts", "etc/resolv.conf", "cache"}


def _compare(layout: Layout, mine: ImageRecord, other: Layout, theirs: ImageRecord,
             peer_own: frozenset[str] | set[str] = frozenset()) -> None:
    a = _snapshot(layout, mine)
    b = {k: v for k, v in _snapshot(other, theirs).items() if k not in peer_own or k in a}
    assert len(a) > 20 and "bin/busybox" in a
    differ = {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
    hist = [[(str(h.get("created_by"))[-40:], bool(h.get("empty_layer"))) for h in r.config.history]
            for r in (mine, theirs)]
    assert differ == {}, "\n".join(f"{x}  |  {y}" for x, y in zip(*hist, strict=False))
    assert _config(mine) == _config(theirs)
    assert len(mine.config.diff_ids) == len(theirs.config.diff_ids)


@pytest.mark.parametrize("name", sorted(CLASSIC))
def test_same_as_docker_classic_builder(name: str, layout: Layout, base: Path, tmp_path: Path,
                                        dockerd: Dockerd) -> None:  # noqa: F811
    ctx = _context(tmp_path)
    docker = dockerd.cmd
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    subprocess.run([*docker, "load", "-i", str(base)], check=True, capture_output=True)
    if name == "onbuild-child":  # the parent with its trigger, built by each builder first
        parent = CLASSIC["everything"].replace("ONBUILD RUN echo child", "ONBUILD RUN touch /from-trigger")
        parent = parent.replace("USER 1000:2000", "USER 0")
        _geedocker(layout, ctx, parent, "parent:1")
        (ctx / "Dockerfile").write_text(parent)
        r = subprocess.run([*docker, "build", "-q", "-t", "parent:1", str(ctx)], env=env, capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
    mine = _geedocker(layout, ctx, CLASSIC[name], f"gd-{name}:1")
    (ctx / "Dockerfile").write_text(CLASSIC[name])
    r = subprocess.run([*docker, "build", "-q", "-t", f"dk-{name}:1", str(ctx)], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    archive = tmp_path / "peer.tar"
    subprocess.run([*docker, "save", "-o", str(archive), f"dk-{name}:1"], check=True)
    other, theirs = _peer_image(tmp_path, archive)
    _compare(layout, mine, other, theirs)


@pytest.fixture
def buildah(tmp_path: Path) -> Iterator[list[str]]:
    """buildah with throwaway storage (vfs), removed afterwards."""
    exe = shutil.which("buildah")
    if exe is None:
        pytest.skip("buildah is not installed")
    root = Path(tempfile.mkdtemp(prefix="gdbah-", dir="/var/tmp"))
    run = Path(tempfile.mkdtemp(prefix="gdbr-", dir="/tmp"))
    try:
        yield [exe, "--root", str(root), "--runroot", str(run), "--storage-driver", "vfs"]
    finally:
        unmount_under(root)
        unmount_under(run)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(run, ignore_errors=True)


@pytest.mark.parametrize("name", sorted(BUILDAH))
def test_same_as_buildah(name: str, layout: Layout, base: Path, tmp_path: Path, buildah: list[str]) -> None:
    ctx = _context(tmp_path)
    subprocess.run([*buildah, "pull", f"docker-archive:{base}"], check=True, capture_output=True)
    subprocess.run([*buildah, "tag", f"docker.io/{BASE}", BASE], capture_output=True)
    mine = _geedocker(layout, ctx, BUILDAH[name], f"gd-{name}:1")
    (ctx / "Dockerfile").write_text(BUILDAH[name])
    r = subprocess.run([*buildah, "build", "--isolation", "chroot", "--layers",
                        "--secret", f"id=tok,src={ctx / 'secret'}", "-t", f"bh-{name}:1", str(ctx)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    archive = tmp_path / "peer.tar"
    subprocess.run([*buildah, "push", f"bh-{name}:1", f"docker-archive:{archive}:bh-{name}:1"], check=True,
                   capture_output=True)
    other, theirs = _peer_image(tmp_path, archive)
    _compare(layout, mine, other, theirs, BUILDAH_OWN)
