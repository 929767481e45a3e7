"""``geedocker build`` from the command line (root): a context dir, a Dockerfile on stdin, -q, --iidfile, -o."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.images.importer import import_rootfs
from geedocker.store.layout import Layout
from tests.support.cleanup import clean_store
from tests.support.layers import busybox_rootfs_entries, gzip_bytes, layer_tar

pytestmark = pytest.mark.root
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(autouse=True)
def _clean(layout: Layout, tmp_path: Path) -> Iterator[None]:
    """Afterwards (a failed test too): no container, mount or image of this test's stores is left."""
    yield
    clean_store(layout)
    clean_store(Layout(tmp_path / "other-root", tmp_path / "other-run"))


def _cli(layout: Layout, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC, "GEEDOCKER_ROOT": str(layout.root), "GEEDOCKER_RUN": str(layout.run)}
    return subprocess.run([sys.executable, "-m", "geedocker", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120)


def test_build_cli(layout: Layout, tmp_path: Path) -> None:
    import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar(busybox_rootfs_entries()))), "test/bb:1")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_text("from context\n")
    (ctx / "Dockerfile").write_text("FROM test/bb:1\nARG A\nCOPY f /f\nRUN echo $A >> /f\n")
    iid = tmp_path / "iid"
    out = tmp_path / "out.tar"
    r = _cli(layout, "build", "-q", "--network", "none", "--build-arg", "A=arg", "-t", "cli:1", "--iidfile",
             str(iid), "-o", f"type=tar,dest={out}", str(ctx))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == iid.read_text() and r.stdout.startswith("sha256:")
    with tarfile.open(out) as tf:
        data = tf.extractfile("f")
        assert data is not None and data.read() == b"from context\narg\n"
    r = _cli(layout, "build", "-q", "-t", "stdin:1", "-", stdin="FROM test/bb:1\nLABEL from=stdin\n")
    assert r.returncode == 0, r.stderr
    r = _cli(layout, "build", "--network", "none", str(ctx), "-f", "-", stdin="FROM test/bb:1\nRUN exit 4\n")
    assert r.returncode == 1 and "returned a non-zero code: 4" in r.stderr
    r = _cli(layout, "builder", "prune", "-f")
    assert r.returncode == 0 and "Deleted build cache objects" in r.stdout


def test_build_progress(layout: Layout, tmp_path: Path) -> None:
    import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar(busybox_rootfs_entries()))), "test/bb:1")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM test/bb:1 AS one\nENV A=1\nRUN echo out-$A\n"
                                    "FROM scratch\nCOPY --from=one /bin/busybox /bb\n")
    r = _cli(layout, "build", "--progress=plain", "--network", "none", "-t", "p:1", str(ctx))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # the progress goes to stderr, as BuildKit's
    lines = r.stderr.splitlines()
    run = next(x for x in lines if x.endswith("[one 2/2] RUN echo out-$A")).split()[0]  # "#N"
    assert re.search(rf"^{run} \d+\.\d+ out-1$", r.stderr, re.M) and f"{run} DONE" in r.stderr
    assert any(x.endswith("[stage-1 1/2] FROM scratch") for x in lines) and "ENV" not in r.stderr
    assert "writing image sha256:" in r.stderr and "naming to docker.io/library/p:1 done" in r.stderr
    again = _cli(layout, "build", "--progress=plain", "--network", "none", str(ctx))
    assert f"{run} CACHED" in again.stderr
    tty = _cli(layout, "build", "--progress=tty", "--network", "none", str(ctx))
    assert tty.returncode == 0 and "[+] Building" in tty.stderr and "FINISHED" in tty.stderr
    quiet = _cli(layout, "build", "--progress=quiet", "--network", "none", str(ctx))
    assert quiet.stderr == "" and quiet.stdout.startswith("sha256:")


def test_build_output_type_docker_loads(layout: Layout, tmp_path: Path) -> None:
    import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar(busybox_rootfs_entries()))), "test/bb:1")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM test/bb:1\nRUN echo made > /made\nCMD [\"cat\", \"/made\"]\n")
    out = tmp_path / "image.tar"
    r = _cli(layout, "build", "-q", "--network", "none", "-t", "out:1", "-o", f"type=docker,dest={out}", str(ctx))
    assert r.returncode == 0, r.stderr
    built = r.stdout.strip()
    other = Layout(tmp_path / "other-root", tmp_path / "other-run")  # a store that has neither base nor image
    r = _cli(other, "load", "-i", str(out))
    assert r.returncode == 0, r.stderr
    assert "Loaded image: out:1" in r.stdout
    r = _cli(other, "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}")
    assert r.stdout.split() == [built, "out:1"]
    r = _cli(other, "run", "--rm", "--network", "none", "out:1")
    assert (r.returncode, r.stdout) == (0, "made\n"), r.stderr


def test_system_df_counts_the_build_cache_and_prune_frees_it(layout: Layout, tmp_path: Path) -> None:
    import json

    import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar(busybox_rootfs_entries()))), "test/bb:1")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    # stage one's RUN layer is the cache's alone; the final COPY layer is the image's too (shared)
    (ctx / "Dockerfile").write_text(
        "FROM test/bb:1 AS one\n"
        "RUN --mount=type=cache,id=c1,target=/c head -c 5000 /dev/zero > /c/f && head -c 3000 /dev/zero > /big && "
        "echo 1 > /one\n"
        "FROM test/bb:1\nCOPY --from=one /big /big\n")
    assert _cli(layout, "system", "df", "--format", "{{.Type}}:{{.TotalCount}}:{{.Size}}").stdout.splitlines()[-1] \
        == "Build Cache:0:0B"
    r = _cli(layout, "build", "-q", "--network", "none", "-t", "df:1", str(ctx))
    assert r.returncode == 0, r.stderr
    r = _cli(layout, "system", "df", "-v", "--format", "json")
    records = sorted(json.loads(r.stdout)["BuildCache"], key=lambda b: (b["CacheType"], b["Shared"]))
    assert [(b["CacheType"], b["Shared"]) for b in records] == [
        ("exec.cachemount", "false"), ("regular", "false"), ("regular", "true")]
    assert records[0]["Size"] == "5kB" and records[2]["Size"] == "0B"
    assert len(records[1]["ID"]) == 64 and "ago" in records[1]["LastUsedSince"]
    rows = {x.split(":")[0]: x.split(":")[1:] for x in _cli(
        layout, "system", "df", "--format", "{{.Type}}:{{.TotalCount}}:{{.Active}}:{{.Size}}:{{.Reclaimable}}"
    ).stdout.splitlines()}
    total, active, size, reclaimable = rows["Build Cache"]
    assert (total, active) == ("3", "0") and size == reclaimable
    assert 8.0 <= float(size.removesuffix("kB")) < 9.0  # 5000 + 3002 bytes and the RUN layer's small blob
    table = _cli(layout, "system", "df", "-v").stdout
    assert f"Build cache usage: {size}\n" in table and "exec.cachemount" in table
    r = _cli(layout, "builder", "prune", "-f")
    assert r.returncode == 0 and r.stdout.endswith(f"Total reclaimed space: {size}\n"), r.stdout
    assert _cli(layout, "system", "df", "--format", "{{.Type}}:{{.TotalCount}}:{{.Size}}").stdout.splitlines()[-1] \
        == "Build Cache:0:0B"
    assert not list((layout.root / "buildcache" / "mounts").iterdir())
    r = _cli(layout, "run", "--rm", "--network", "none", "df:1", "wc", "-c", "/big")
    assert r.stdout.split()[0] == "3000", r.stderr  # prune kept what the image uses
