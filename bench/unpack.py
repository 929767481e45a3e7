#!/usr/bin/env python3
"""Benchmark layer unpacking: geedocker's ``flatten`` vs ``tar -xzf`` vs ``umoci unpack``.

Usage (from the repository root, as root for umoci and ownership)::

    PYTHONPATH=src:. python3 bench/unpack.py [--runs 3] [--dir /var/tmp/geedocker-bench] [--only small,mixed]

Layers (built once into --dir, then reused):

- small: 50,000 small text files in 500 directories (per-entry overhead), gzip
- mixed: /usr/bin, /usr/lib/python3* and /usr/share/doc of this machine (a real-world mix), gzip
- big: 4 files of 64 MiB of compressible data (decompression and write throughput), gzip

Each tool runs as a separate process (start-up included) into an empty directory on the same
filesystem; the output is deleted between runs (not timed). Prints the median wall time per tool and
its ratio to ours.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from isal import igzip
from tests.support.layers import write_oci_layout


def build_small(path: Path) -> None:
    rng = random.Random(1)
    with open(path, "wb") as raw, igzip.open(raw, "wb", compresslevel=2) as gz, \
            tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for d in range(500):
            ti = tarfile.TarInfo(f"usr/lib/pkg{d}")
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
            tf.addfile(ti)
            for f in range(100):
                data = (f"line {f} of package {d}\n" * rng.randrange(1, 300)).encode()
                ti = tarfile.TarInfo(f"usr/lib/pkg{d}/module_{f}.py")
                ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_700_000_000
                tf.addfile(ti, io.BytesIO(data))


def build_mixed(path: Path) -> None:
    roots = [p for p in ("usr/bin", "usr/share/doc", *sorted(str(p)[1:] for p in Path("/usr/lib").glob("python3*")))
             if Path("/", p).exists()]
    tar = subprocess.run(["tar", "-C", "/", "--numeric-owner", "-cf", "-", *roots],
                         capture_output=True, check=False).stdout
    with open(path, "wb") as raw, igzip.open(raw, "wb", compresslevel=2) as gz:
        gz.write(tar)


def build_big(path: Path) -> None:
    rng = random.Random(2)
    words = [bytes(rng.choices(b"abcdefghijklmnopqrstuvwxyz", k=rng.randrange(2, 10))) for _ in range(5000)]
    with open(path, "wb") as raw, igzip.open(raw, "wb", compresslevel=2) as gz, \
            tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for i in range(4):
            chunk = b" ".join(rng.choices(words, k=200_000))
            data = (chunk * (64 * 2**20 // len(chunk) + 1))[: 64 * 2**20]
            ti = tarfile.TarInfo(f"data/blob{i}")
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_700_000_000
            tf.addfile(ti, io.BytesIO(data))


LAYERS = {"small": build_small, "mixed": build_mixed, "big": build_big}


def ours(blob: Path, out: Path) -> list[str]:
    code = ("import sys; from pathlib import Path; from geedocker.archive import flatten; "
            "flatten([Path(sys.argv[1])], Path(sys.argv[2]))")
    return [sys.executable, "-c", code, str(blob), str(out)]


def gnu_tar(blob: Path, out: Path) -> list[str]:
    return ["tar", "--numeric-owner", "-xpzf", str(blob), "-C", str(out)]


def umoci(image: Path, out: Path) -> list[str]:
    return ["umoci", "unpack", "--image", f"{image}:bench", str(out / "bundle")]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/var/tmp/geedocker-bench"))
    ap.add_argument("--only", default=",".join(LAYERS))
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    have_umoci = shutil.which("umoci") is not None and os.geteuid() == 0
    print(f"{'layer':8} {'size':>9} {'tool':8} {'median s':>9} {'vs ours':>8}")
    for name in args.only.split(","):
        blob = args.dir / f"{name}.tar.gz"
        if not blob.exists():
            LAYERS[name](blob)
        image = args.dir / f"{name}-image"
        if have_umoci and not image.exists():
            write_oci_layout(image, [blob.read_bytes()], "bench")
        tools: dict[str, list[str]] = {}
        out = args.dir / "out"
        tools["ours"] = ours(blob, out)
        tools["tar"] = gnu_tar(blob, out)
        if have_umoci:
            tools["umoci"] = umoci(image, out)
        medians: dict[str, float] = {}
        for tool, cmd in tools.items():
            times = []
            for _ in range(args.runs):
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                times.append(timed(cmd, env))
            shutil.rmtree(out, ignore_errors=True)
            medians[tool] = statistics.median(times)
        size = f"{blob.stat().st_size / 2**20:.0f} MiB"
        for tool, t in medians.items():
            print(f"{name:8} {size:>9} {tool:8} {t:9.2f} {t / medians['ours']:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
