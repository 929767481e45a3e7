"""Shared benchmark helpers: timing with peak memory, medians and ratios, images to measure with.

Benchmarks run as root on the same machine as their peers, in one run, and report ratios (not absolute
times, which depend on the machine). Results are printed and written to bench/results/<name>.json.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

CACHE = Path(os.environ.get("GEEDOCKER_BENCH_CACHE", "/var/cache/geedocker-bench"))
BIN = Path(tempfile.mkdtemp(prefix="gdbench-bin-"))


def _launchers() -> None:
    """The launchers a user gets from ``scripts/install-deps.sh`` (``python -S``), written for this checkout, on
    the interpreter it picks (``$GEEDOCKER_BENCH_PYTHON`` picks another, to compare interpreters)."""
    from geedocker.launcher import install, preferred_python

    install(BIN, python=os.environ.get("GEEDOCKER_BENCH_PYTHON") or preferred_python())
    atexit.register(shutil.rmtree, BIN, True)


_launchers()
GD = [str(BIN / "geedocker")]
RUNTIME = [str(BIN / "geedocker-runtime")]


@dataclass
class Sample:
    seconds: float
    max_rss_kb: int


@dataclass
class Series:
    name: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def peak_rss_mb(self) -> float:
        return max(s.max_rss_kb for s in self.samples) / 1024


def _compile_sources() -> None:
    """Byte-compile geedocker once, as an installed package would be (so no run pays for compiling)."""
    import compileall

    compileall.compile_dir(str(REPO / "src"), quiet=1)


_compile_sources()


def timed(cmd: list[str], env: dict[str, str] | None = None, check: bool = True) -> Sample:
    """Run ``cmd``: wall time, and peak RSS of its largest process (GNU time's %M, after exec)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # stderr goes to a file, not a pipe: a container made by `create` inherits it and would hold a pipe open
    with tempfile.NamedTemporaryFile(prefix="gdbench-rss-") as rss, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd], env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        dt = time.perf_counter() - t0
        if check and p.returncode != 0:
            err.seek(0)
            detail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {detail}")
        text = Path(rss.name).read_text().strip().splitlines()
    return Sample(dt, int(text[-1]) if text and text[-1].isdigit() else 0)


def report(title: str, series: list[Series], baseline: str, out_name: str, notes: str = "") -> dict[str, object]:
    base = next(s for s in series if s.name == baseline)
    print(f"\n{title}")
    print(f"{'tool':<34}{'median s':>10}{'ratio':>8}{'peak MB':>9}   runs")
    rows = []
    for s in series:
        ratio = s.median / base.median
        print(f"{s.name:<34}{s.median:>10.3f}{ratio:>8.2f}{s.peak_rss_mb:>9.1f}   {len(s.samples)}")
        rows.append({"tool": s.name, "median_s": round(s.median, 4), "ratio_to_" + baseline: round(ratio, 3),
                     "peak_rss_mb": round(s.peak_rss_mb, 1), "runs": [round(x.seconds, 4) for x in s.samples]})
    if notes:
        print(notes)
    result = {"title": title, "baseline": baseline, "rows": rows, "notes": notes,
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    outdir = REPO / "bench" / "results"
    outdir.mkdir(exist_ok=True)
    (outdir / f"{out_name}.json").write_text(json.dumps(result, indent=2))
    return result


def debian_rootfs_tar() -> Path:
    """A Debian bookworm minbase root filesystem as a tar (debootstrap, cached between runs)."""
    tar = CACHE / "debian-bookworm-minbase.tar"
    if tar.exists():
        return tar
    CACHE.mkdir(parents=True, exist_ok=True)
    if shutil.which("debootstrap") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "debootstrap"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    rootfs = CACHE / "rootfs"
    if not (rootfs / "etc/debian_version").exists():
        shutil.rmtree(rootfs, ignore_errors=True)
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs),
                        "http://deb.debian.org/debian"], check=True, stdout=subprocess.DEVNULL)
    tmp = tar.with_suffix(".tmp")
    subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "--xattrs", "-cf", str(tmp), "."], check=True)
    tmp.rename(tar)
    return tar


def synthetic_layers(n: int = 5, files: int = 400, size: int = 20_000) -> list[Path]:
    """``n`` layer tars of ``files`` half-compressible files each (cached)."""
    out = []
    CACHE.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        p = CACHE / f"synthetic-{i}-{files}-{size}.tar"
        if not p.exists():
            rnd = os.urandom(size // 2)
            with tarfile.open(p, "w") as tf:
                for j in range(files):
                    data = rnd[j % 97 :] + bytes(size - len(rnd[j % 97 :]))
                    ti = tarfile.TarInfo(f"layer{i}/dir{j % 20}/file{j}")
                    ti.size = len(data)
                    import io

                    tf.addfile(ti, io.BytesIO(data))
        out.append(p)
    return out


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
