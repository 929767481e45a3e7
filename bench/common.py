"""Shared benchmark helpers: timing with peak memory, medians and ratios, images to measure with.

Benchmarks run as root on the same machine as their peers, in one run, and report ratios (not absolute
times, which depend on the machine). Results are printed and written to bench/results/<name>.json.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
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


# --- what a benchmark leaves behind: nothing ---------------------------------------------------------------------
# Every geedocker command a benchmark runs inherits a bridge of this process's own instead of the default
# geedocker0, which the host's own geedocker (or a colleague's) may use: so the bridge it may make is this
# benchmark's, and ``cleanup`` removes it. Each store is registered (``gd_store``); ``cleanup`` removes its
# containers, mounts, nftables table (named after the store's root) and files. Benchmarks call it in ``finally``;
# it also runs at exit and on SIGTERM, and may run twice.
BRIDGE_ENV = {"GEEDOCKER_BRIDGE": f"gdb{os.getpid()}", "GEEDOCKER_BRIDGE_SUBNET": f"10.213.{os.getpid() % 200}.0/24"}
os.environ.update(BRIDGE_ENV)
_STORES: list[tuple[Path, Path]] = []


def gd_store(root: Path, run: Path) -> dict[str, str]:
    """The environment for geedocker commands on a store of the benchmark's own, which ``cleanup`` removes."""
    if (root, run) not in _STORES:
        _STORES.append((root, run))
    return {"GEEDOCKER_ROOT": str(root), "GEEDOCKER_RUN": str(run), **BRIDGE_ENV}


def _quietly(cmd: list[str], env: dict[str, str]) -> str:
    try:
        p = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(REPO / "src"), **env}, capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return p.stdout


def _unmount_under(path: Path) -> None:
    prefix = str(path).rstrip("/")
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for p in sorted({p for p in points if p == prefix or p.startswith(prefix + "/")}, key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True)


def cleanup() -> None:
    """Remove what the registered stores made (containers, mounts, nftables tables, files) and this process's
    bridge; nothing else."""
    from geedocker.network import netlink, nft
    from geedocker.store.layout import Layout

    while _STORES:
        root, run = _STORES.pop()
        env = {"GEEDOCKER_ROOT": str(root), "GEEDOCKER_RUN": str(run), **BRIDGE_ENV}
        if root.exists():
            ids = _quietly([*GD, "ps", "-aq", "--no-trunc"], env).split()
            if ids:
                _quietly([*GD, "rm", "-f", *ids], env)
        for path in (root, run):
            _unmount_under(path)
        try:
            nft.delete(nft.table_name(Layout(root, run)))
        except Exception as e:  # noqa: BLE001 - cleanup goes on; say what stayed
            print(f"bench cleanup: nftables table of {root}: {e}", file=sys.stderr)
        for path in (root, run):
            shutil.rmtree(path, ignore_errors=True)
    try:
        netlink.delete_link(BRIDGE_ENV["GEEDOCKER_BRIDGE"])
    except Exception as e:  # noqa: BLE001
        print(f"bench cleanup: bridge {BRIDGE_ENV['GEEDOCKER_BRIDGE']}: {e}", file=sys.stderr)


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so that finally blocks and atexit run


atexit.register(cleanup)
signal.signal(signal.SIGTERM, _on_sigterm)
