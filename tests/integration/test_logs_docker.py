"""``--log-opt compress=true`` beside docker's: Debian's dockerd 20.10 (``tests.support.dockerd``) and geedocker
run the same chatty container with a log rotated at 1 KiB into 4 files, compressed. The files in the log's
directory are named the same (the log plain, the rotated ones ``<log>.N.gz``), and ``logs`` (with ``--tail``,
``--since``, ``-f``) reads them in order, as docker's does."""

from __future__ import annotations

import gzip
import json
import os
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dockerd import Dockerd, dockerd  # noqa: F401
from tests.support.engines import Engines
from tests.support.layers import make_busybox_rootfs
from tests.support.netenv import TEST_BRIDGE_ENV, remove_store_firewall

pytestmark = [pytest.mark.root]

SRC = str(Path(__file__).resolve().parents[2] / "src")
IMAGE = "logcmp/bb:1"
N = 300
CHATTY = f"i=0; while [ $i -lt {N} ]; do echo line $i; i=$((i+1)); done"
ROTATED = ["--log-opt", "max-size=1k", "--log-opt", "max-file=4", "--log-opt", "compress=true"]


@pytest.fixture
def engines(dockerd: Dockerd, tmp_path: Path) -> Iterator[Engines]:  # noqa: F811
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    with tarfile.open(tmp_path / "rootfs.tar", "w") as tf:
        tf.add(rootfs, arcname=".")
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(GEEDOCKER_ROOT=str(tmp_path / "root"), GEEDOCKER_RUN=str(tmp_path / "run"), **TEST_BRIDGE_ENV)
    e = Engines(dockerd, env)
    for run in (e.docker, e.gd):
        r = run("import", str(tmp_path / "rootfs.tar"), IMAGE)
        assert r.returncode == 0, r.stderr
    yield e
    for run in (e.docker, e.gd):
        run("rm", "-f", "lz")
        run("rmi", "-f", IMAGE)
    remove_store_firewall(tmp_path / "root")


def _log_files(log: Path) -> list[str]:
    """The log's files, named after the log; once no rotated file is left plain (docker compresses in the
    background, after the rotation)."""
    deadline = time.monotonic() + 10
    while True:
        names = sorted(p.name.replace(log.name, "<log>") for p in log.parent.iterdir() if p.name.startswith(log.name))
        if time.monotonic() > deadline or all(n == "<log>" or n.endswith(".gz") for n in names):
            return names
        time.sleep(0.1)


def test_compressed_rotated_logs_are_named_and_read_as_dockers(engines: Engines) -> None:
    files, per_file = {}, {}
    for name, run in (("docker", engines.docker), ("geedocker", engines.gd)):
        r = run("run", "--name", "lz", "--network", "none", *ROTATED, IMAGE, "sh", "-c", CHATTY)
        assert r.returncode == 0 and r.stdout.count("\n") == N, r.stderr
        log = Path(run("inspect", "--format", "{{.LogPath}}", "lz").stdout.strip())
        files[name] = _log_files(log)
        kept: list[str] = []
        per_file[name] = []
        for i in (3, 2, 1):  # whole gzip files of json-file entries, oldest first
            with gzip.open(f"{log}.{i}.gz") as f:
                entries = [json.loads(line)["log"].removesuffix("\n") for line in f]
            kept += entries
            per_file[name].append(len(entries))
        kept += [json.loads(line)["log"].removesuffix("\n") for line in log.read_text().splitlines()]
        assert kept == [f"line {i}" for i in range(N - len(kept), N)], name  # in order, no gap
        # logs reads every file, oldest first; -f on an exited container too, then ends
        assert run("logs", "lz").stdout.splitlines() == kept, name
        follow = run("logs", "-f", "lz")
        assert follow.returncode == 0 and follow.stdout.splitlines() == kept, name
        if name == "geedocker":
            for args in (["--tail", "7"], ["--since", "1h", "--tail", "3"], ["--until", "1h", "--tail", "2"]):
                got, d = run("logs", *args, "lz"), engines.docker("logs", *args, "lz")
                assert (got.returncode, got.stdout) == (d.returncode, d.stdout), args
    assert files["geedocker"] == files["docker"] == ["<log>", "<log>.1.gz", "<log>.2.gz", "<log>.3.gz"]
    assert per_file["geedocker"] == per_file["docker"]  # rotated at the same size: as many entries in each

