"""Build benchmark, one run: the same Dockerfiles (those of tests/build/test_versus_docker.py) built by
``geedocker build`` vs docker's classic builder (Debian's dockerd 20.10 on its own socket) vs ``buildah build``:

    sudo python3 bench/build.py [--runs 3]

cold: the base image present, the build cache not used (``--no-cache`` for all three);
cached: a second build of an unchanged context (every step from the cache).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import GD, Series, cleanup, gd_store, report, scratch, timed
from tests.build.test_versus_docker import CLASSIC, _context
from tests.support.dockerd import start_dockerd
from tests.support.layers import busybox_rootfs_entries, gzip_bytes, layer_tar
from tests.support.peers import unmount_under

from geedocker.images.importer import import_rootfs
from geedocker.images.tarball import save
from geedocker.store.layout import Layout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    runs = ap.parse_args().runs
    work = scratch("gdbench-build-")
    layout = Layout(work / "gd", work / "gdrun")
    import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar(busybox_rootfs_entries()))), "test/bb:1",
                  changes=('CMD ["sh"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
    archive = work / "base.tar"
    with open(archive, "wb") as f:
        save(layout, ["test/bb:1"], f)
    ctx = _context(work)
    d = start_dockerd()
    bah = [shutil.which("buildah") or "buildah", "--root", str(work / "bah"), "--runroot", str(work / "bahrun"),
           "--storage-driver", "vfs"]
    gd_env = gd_store(layout.root, layout.run)
    dk_env = {"DOCKER_BUILDKIT": "0"}
    try:
        subprocess.run([*d.cmd, "load", "-i", str(archive)], check=True, capture_output=True)
        subprocess.run([*bah, "pull", f"docker-archive:{archive}"], check=True, capture_output=True)
        subprocess.run([*bah, "tag", "docker.io/test/bb:1", "test/bb:1"], capture_output=True)
        for name in ("everything", "stages"):
            (ctx / "Dockerfile").write_text(CLASSIC[name])
            tools = {
                "geedocker build": ([*GD, "build", "-q", "--network", "none", "-t", "b:1"], gd_env),
                "docker build (classic, 20.10)": ([*d.cmd, "build", "-q", "-t", "b:1"], dk_env),
                "buildah build": ([*bah, "build", "-q", "--isolation", "chroot", "--layers", "-t", "b:1"], {}),
            }
            for mode in ("cold", "cached"):
                series = []
                for tool, (cmd, env) in tools.items():
                    s = Series(tool)
                    for _ in range(runs):
                        extra = ["--no-cache"] if mode == "cold" else []
                        if mode == "cached":
                            timed([*cmd, str(ctx)], env=env)  # warm the cache
                        s.samples.append(timed([*cmd, *extra, str(ctx)], env=env))
                    series.append(s)
                report(f"build {name} ({mode})", series, "docker build (classic, 20.10)", f"build-{name}-{mode}")
    finally:
        d.stop()
        cleanup()
        for p in (work / "bah", work / "bahrun"):
            unmount_under(p)
        unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
