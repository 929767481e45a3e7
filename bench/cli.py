"""Everyday commands: geedocker vs podman vs docker, same images from the same local registry, one run:

    sudo python3 bench/cli.py [--runs 15]

Each engine gets its own store: geedocker through the launchers (``python -S``, see common.py), podman with
overlay storage, and Debian's dockerd 20.10 started here on its own socket, data root, exec root and pid file
(``--bridge=none --iptables=false``), stopped by its pid at the end, driven by Debian's docker CLI.

Measured, with 3 containers and 3 images, then with 100 containers and 50 images:
- ``pull`` of an image that is already there (one manifest request, nothing to download);
- ``ps -a``; ``images``; ``inspect`` of a container; ``logs`` of a container (200 lines).

Within a round the engines take turns (the order rotates from round to round), so a busy neighbour on a shared
host slows all three alike; medians over the rounds, and ratios to podman (steadier than the times).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from common import GD, Series, cleanup, gd_store, report, scratch, timed
from tests.support.dockerd import running_dockerd
from tests.support.layers import busybox_rootfs_entries, file, layer_tar
from tests.support.peers import PODMAN_RUN_FLAGS, podman_cmd, unmount_under
from tests.support.registry import make_tls_material, push_test_image, start_registry

from geedocker.registry import RegistryClient, RegistryConfig, StaticCredentials

IMAGES = 50
CONTAINERS = 100
LOG_CMD = ["sh", "-c", "seq 1 200"]


def push_images(host: str, n: int) -> list[str]:
    """``n`` images: a shared busybox layer and one small layer of their own each."""
    base = gzip.compress(layer_tar(busybox_rootfs_entries()), mtime=0)
    client = RegistryClient(host, config=RegistryConfig(credentials=StaticCredentials({})))
    refs = []
    try:
        for i in range(n):
            own = layer_tar([file(f"etc/bench-{i}", f"image {i}\n")])
            push_test_image(client, f"bench/img{i}", "1", [base, own], media_types="docker")
            refs.append(f"{host}/bench/img{i}:1")
    finally:
        client.close()
    return refs


class Engine:
    def __init__(self, name: str, cmd: list[str], env: dict[str, str] | None = None,
                 pull_flags: tuple[str, ...] = (), run_flags: tuple[str, ...] = ()) -> None:
        self.name = name
        self.cmd = cmd
        self.env = env
        self.pull_flags = list(pull_flags)
        self.run_flags = list(run_flags)

    def setup(self, *args: str) -> None:
        env = {**os.environ, **self.env} if self.env else None
        p = subprocess.run([*self.cmd, *args], env=env, capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"{self.name} {' '.join(args)}: {p.stderr.decode(errors='replace')[-2000:]}")

    def pull(self, ref: str) -> None:
        self.setup("pull", "-q", *self.pull_flags, ref)

    def run(self, name: str, ref: str) -> None:
        self.setup("run", "--name", name, "--network", "none", *self.run_flags, ref, *LOG_CMD)

    def timed(self, *args: str) -> float:
        return timed([*self.cmd, *args], self.env).seconds


def populate(engines: list[Engine], refs: list[str], images: range, containers: range) -> None:
    for e in engines:
        for i in images:
            e.pull(refs[i])
        for i in containers:
            e.run(f"bench{i}", refs[i % 3])


def measure(engines: list[Engine], cases: dict[str, Callable[[Engine], list[str]]], runs: int,
            results: dict[str, list[Series]]) -> None:
    series = {case: {e.name: Series(e.name) for e in engines} for case in cases}
    for e in engines:  # one warm-up each (page cache, a daemon's first request)
        for argv in cases.values():
            e.timed(*argv(e))
    for r in range(runs):
        k = r % len(engines)
        for case, argv in cases.items():
            for e in engines[k:] + engines[:k]:
                series[case][e.name].samples.append(timed([*e.cmd, *argv(e)], e.env))
    for case in cases:
        results[case] = list(series[case].values())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    work = scratch("gdbench-cli-")
    reg = start_registry("http", make_tls_material())
    results: dict[str, list[Series]] = {}
    try:
        refs = push_images(reg.host, IMAGES)
        gd = Engine("geedocker", GD, gd_store(work / "gd", work / "gdrun"))
        with podman_cmd(work / "podman") as pcmd, running_dockerd() as dockerd:
            pcmd = [c if c != "vfs" else "overlay" for c in pcmd]
            engines = [gd, Engine("podman", pcmd, pull_flags=("--tls-verify=false",), run_flags=PODMAN_RUN_FLAGS),
                       Engine("docker", dockerd.cmd)]
            populate(engines, refs, range(3), range(3))
            measure(engines, {
                "pull (image present)": lambda e: ["pull", "-q", *e.pull_flags, refs[0]],
                "ps -a (3 containers)": lambda e: ["ps", "-a"],
                "images (3 images)": lambda e: ["images"],
                "inspect (a container)": lambda e: ["inspect", "bench0"],
                "logs (200 lines)": lambda e: ["logs", "bench0"],
            }, args.runs, results)
            populate(engines, refs, range(3, IMAGES), range(3, CONTAINERS))
            measure(engines, {
                f"ps -a ({CONTAINERS} containers)": lambda e: ["ps", "-a"],
                f"images ({IMAGES} images)": lambda e: ["images"],
            }, args.runs, results)
    finally:
        cleanup()
        unmount_under(work / "podman")
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)
    summary = []
    for case, series in results.items():
        out = report(f"{case} (median of {args.runs})", series, "podman", "cli-" + _slug(case))
        rows = {r["tool"]: r for r in out["rows"]}  # type: ignore[union-attr]
        summary.append({"case": case, **{t: rows[t]["median_s"] for t in rows},
                        "ratio_to_podman": rows["geedocker"]["ratio_to_podman"],
                        "ratio_to_docker": round(rows["geedocker"]["median_s"] / rows["docker"]["median_s"], 3)})
    print(f"\n{'command':<28}{'geedocker':>10}{'podman':>9}{'docker':>9}{'/podman':>9}{'/docker':>9}")
    for s in summary:
        print(f"{s['case']:<28}{s['geedocker']:>10.3f}{s['podman']:>9.3f}{s['docker']:>9.3f}"
              f"{s['ratio_to_podman']:>9.2f}{s['ratio_to_docker']:>9.2f}")
    outdir = Path(__file__).resolve().parent / "results"
    outdir.mkdir(exist_ok=True)
    (outdir / "cli.json").write_text(json.dumps({"runs": args.runs, "rows": summary,
                                                 "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                                                indent=2))
    return 0


def _slug(case: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in case).strip("-")


if __name__ == "__main__":
    sys.exit(main())
