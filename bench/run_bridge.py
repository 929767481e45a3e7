"""Container start on a bridge network, one run, the same busybox image for both engines:

    sudo python3 bench/run_bridge.py [--runs 10]

``geedocker run --rm IMG true`` (default bridge: netns, veth, IPAM lease, nftables table) vs
``podman run --rm IMG true`` (podman's default network: netavark + aardvark-dns, Debian's podman 4.3),
with the ``--network none`` times of both for reference (the price of the network is the difference).
geedocker's bridge here is the benchmark's own (``bench/common.py``: ``gdb<pid>``), removed afterwards with
its nftables table and the store, also when the benchmark fails.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
from pathlib import Path

from common import GD, Series, cleanup, gd_store, report, scratch, timed
from tests.support.layers import busybox_rootfs_entries, layer_tar
from tests.support.peers import PODMAN_RUN_FLAGS, podman_cmd, unmount_under

from geedocker.images.importer import import_rootfs
from geedocker.images.tarball import save
from geedocker.store.layout import Layout

IMAGE = "bench/busybox:1"


def bench(work: Path, runs: int) -> None:
    layout = Layout(work / "gd", work / "gdrun")
    import_rootfs(layout, io.BytesIO(layer_tar(busybox_rootfs_entries())), IMAGE)
    archive = work / "bb.tar"
    with open(archive, "wb") as f:
        save(layout, [IMAGE], f)
    env = gd_store(layout.root, layout.run)  # with the benchmark's own bridge
    gd_bridge = Series("geedocker run --rm (bridge)")
    gd_none = Series("geedocker run --rm --network none")
    pod_bridge = Series("podman run --rm (netavark bridge)")
    pod_none = Series("podman run --rm --network none")
    try:
        with podman_cmd(work / "podman") as pcmd:
            pcmd = [c if c != "vfs" else "overlay" for c in pcmd]
            subprocess.run([*pcmd, "load", "-q", "-i", str(archive)], check=True, capture_output=True)
            gd = [*GD, "run", "--rm", IMAGE, "true"]
            gdn = [*GD, "run", "--rm", "--network", "none", IMAGE, "true"]
            pod = [*pcmd, "run", "--rm", *PODMAN_RUN_FLAGS, f"docker.io/{IMAGE}", "true"]
            podn = [*pcmd, "run", "--rm", "--network", "none", *PODMAN_RUN_FLAGS, f"docker.io/{IMAGE}", "true"]
            for cmd, e in ((gd, env), (gdn, env), (pod, None), (podn, None)):  # one warm-up each
                timed(cmd, e)
            for _ in range(runs):  # interleaved, so load changes hit all four alike
                gd_bridge.samples.append(timed(gd, env))
                pod_bridge.samples.append(timed(pod))
                gd_none.samples.append(timed(gdn, env))
                pod_none.samples.append(timed(podn))
            unmount_under(work / "podman")
    finally:
        cleanup()  # the containers, the bridge, the nftables table and the store
    report(
        f"run --rm busybox true on a bridge network (median of {runs})",
        [gd_bridge, pod_bridge, gd_none, pod_none],
        "podman run --rm (netavark bridge)",
        "run-bridge",
        notes=f"network cost: geedocker {gd_bridge.median - gd_none.median:+.3f} s, "
        f"podman {pod_bridge.median - pod_none.median:+.3f} s",
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    if shutil.which("netavark") is None and not Path("/usr/lib/podman/netavark").exists():
        print("podman's bridge needs netavark (Debian: netavark, aardvark-dns)", file=sys.stderr)
        return 1
    work = scratch("gdbench-bridge-")
    try:
        bench(work, args.runs)
    finally:
        unmount_under(work / "podman")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
