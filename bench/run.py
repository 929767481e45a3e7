"""Container start benchmark, one run, same busybox image and bundle for everyone:

    sudo python3 bench/run.py [--runs 10]

1. engines: ``geedocker run --rm IMG true`` vs ``podman run --rm --network none IMG true``;
2. runtimes on one prepared OCI bundle running /bin/true: ``geedocker-runtime run`` vs ``runc run`` vs
   ``crun run``, and create+start+delete for each.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

from common import GD, RUNTIME, Series, cleanup, gd_store, report, scratch, timed
from tests.support.bundle import base_config, make_bundle
from tests.support.layers import busybox_rootfs_entries, layer_tar, make_busybox_rootfs
from tests.support.peers import PODMAN_RUN_FLAGS, podman_cmd, unmount_under

from geedocker.images.importer import import_rootfs
from geedocker.images.tarball import save
from geedocker.store.layout import Layout


def engines(work: Path, runs: int) -> None:
    layout = Layout(work / "gd", work / "gdrun")
    import_rootfs(layout, io.BytesIO(layer_tar(busybox_rootfs_entries())), "bench/busybox:1")
    archive = work / "bb.tar"
    with open(archive, "wb") as f:
        save(layout, ["bench/busybox:1"], f)
    env = gd_store(layout.root, layout.run)
    gd = Series("geedocker run --rm --network none")
    pod = Series("podman run --rm --network none")
    with podman_cmd(work / "podman") as pcmd:
        pcmd = [c if c != "vfs" else "overlay" for c in pcmd]
        subprocess.run([*pcmd, "load", "-q", "-i", str(archive)], check=True, capture_output=True)
        # one warm-up each
        timed([*GD, "run", "--rm", "--network", "none", "bench/busybox:1", "true"], env)
        timed([*pcmd, "run", "--rm", "--network", "none", *PODMAN_RUN_FLAGS, "docker.io/bench/busybox:1", "true"])
        for _ in range(runs):
            gd.samples.append(timed([*GD, "run", "--rm", "--network", "none", "bench/busybox:1", "true"], env))
            pod.samples.append(timed([*pcmd, "run", "--rm", "--network", "none", *PODMAN_RUN_FLAGS,
                                      "docker.io/bench/busybox:1", "true"]))
        unmount_under(work / "podman")
    report(f"run --rm busybox true (median of {runs})", [gd, pod], "podman run --rm --network none", "run-engines")


def runtimes(work: Path, runs: int) -> None:
    template = make_busybox_rootfs(work / "template")
    cfg = base_config(["/bin/true"])
    bundle = make_bundle(work / "bundle", cfg, template)
    (bundle / "config.json").write_text(json.dumps(cfg))
    tools = {
        "geedocker-runtime": RUNTIME,
        "runc": [shutil.which("runc") or "runc"],
        "crun": [shutil.which("crun") or "crun"],
    }
    run_series, cycle_series = [], []
    skipped = []
    for name, exe in tools.items():
        root = work / f"state-{name}"
        base = [*exe, "--root", str(root)]
        try:
            timed([*base, "run", "-b", str(bundle), "warm"])
        except RuntimeError as e:  # crun refuses this machine's hybrid cgroup layout
            skipped.append(f"{name}: {str(e).splitlines()[0][-160:]}")
            continue
        s_run, s_cycle = Series(f"{name} run"), Series(f"{name} create+start+delete")
        for i in range(runs):
            s_run.samples.append(timed([*base, "run", "-b", str(bundle), f"r{i}"]))
            cid = f"c{i}"
            a = timed([*base, "create", "-b", str(bundle), cid])
            b = timed([*base, "start", cid])
            subprocess.run([*base, "delete", "-f", cid], capture_output=True)  # may race the exit: force
            c_ = timed([*base, "delete", "-f", cid], check=False)
            s_cycle.samples.append(type(a)(a.seconds + b.seconds + c_.seconds, max(a.max_rss_kb, b.max_rss_kb)))
        run_series.append(s_run)
        cycle_series.append(s_cycle)
    notes = "\n".join(f"skipped {s}" for s in skipped)
    report(f"OCI runtime run of /bin/true (median of {runs})", run_series, "runc run", "run-runtimes", notes)
    report(f"OCI runtime create+start+delete (median of {runs})", cycle_series, "runc create+start+delete",
           "cycle-runtimes")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--only", choices=["engines", "runtimes"])
    args = ap.parse_args()
    work = scratch("gdbench-run-")
    try:
        if args.only in (None, "runtimes"):
            runtimes(work, args.runs)
        if args.only in (None, "engines"):
            engines(work, args.runs)
    finally:
        cleanup()
        unmount_under(work / "podman")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
