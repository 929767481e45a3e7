"""Pull benchmark: geedocker pull vs podman pull vs skopeo copy, same images, same local registry, one run.

    sudo python3 bench/pull.py [--runs 3]

Images: a Debian bookworm minbase (debootstrap, one layer) and a synthetic 5-layer image. Each tool starts
from empty storage every run. geedocker and podman download, verify and unpack; skopeo (to an OCI dir) only
downloads and verifies, so it is a floor for the network part.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys

from common import GD, Series, cleanup, debian_rootfs_tar, gd_store, report, scratch, synthetic_layers, timed
from tests.support.peers import podman_cmd, unmount_under
from tests.support.registry import make_tls_material, push_test_image, start_registry

from geedocker.registry import RegistryClient, RegistryConfig, StaticCredentials


def build_images(host: str) -> list[str]:
    work = scratch("gdbench-build-")
    env = gd_store(work / "root", work / "run")
    images = []
    try:
        deb = f"{host}/bench/debian:bookworm"
        timed([*GD, "import", "-c", 'CMD ["/bin/bash"]', str(debian_rootfs_tar()), deb], env)
        timed([*GD, "push", "-q", deb], env)
        images.append(deb)
        # a multi-layer image (5 gzip layers of many small files), pushed with the test helper
        multi = f"{host}/bench/multi:5"
        client = RegistryClient(host, config=RegistryConfig(credentials=StaticCredentials({})))
        try:
            layers = [gzip.compress(p.read_bytes(), compresslevel=6, mtime=0) for p in synthetic_layers()]
            push_test_image(client, "bench/multi", "5", layers)
        finally:
            client.close()
        images.append(multi)
    finally:
        cleanup()
        shutil.rmtree(work, ignore_errors=True)
    return images


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    reg = start_registry("http", make_tls_material())
    try:
        images = build_images(reg.host)
        for image in images:
            gd, pod, sko = Series("geedocker pull"), Series("podman pull (overlay)"), Series("skopeo copy (no unpack)")
            for _ in range(args.runs):
                work = scratch("gdbench-")
                try:
                    gd.samples.append(timed([*GD, "pull", "-q", image], gd_store(work / "gd", work / "gdr")))
                    with podman_cmd(work / "podman") as pcmd:
                        pcmd = [c if c != "vfs" else "overlay" for c in pcmd]
                        pod.samples.append(timed([*pcmd, "pull", "-q", "--tls-verify=false", image]))
                    sko.samples.append(timed(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{image}",
                                              f"oci:{work / 'oci'}:x"]))
                finally:
                    cleanup()
                    unmount_under(work / "podman")
                    shutil.rmtree(work, ignore_errors=True)
            name = image.split("/", 1)[1].replace("/", "_").replace(":", "_")
            report(f"pull {image.split('/', 1)[1]} (median of {args.runs})", [gd, pod, sko], "podman pull (overlay)",
                   f"pull-{name}")
    finally:
        reg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
