"""Engine API benchmark: the same clients against ``geedocker system service`` and a real dockerd, one run:

    sudo python3 bench/api.py [--runs 10]

1. Debian's docker CLI (20.10): ``docker run --rm --network none busybox true`` through each socket;
2. docker-py 7: ``containers.run("busybox", "true", remove=True, network_mode="none")`` through each.

dockerd is Debian's (docker.io), on its own socket, data root, exec root and pid file, with ``--bridge=none
--iptables=false`` (``tests/support/dockerd.py``), started and stopped here; both engines get the same busybox
image from a local registry. ``--network none`` for both: dockerd has no bridge here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import GD, Sample, Series, cleanup, gd_store, report, scratch, timed
from tests.support.dockerd import DOCKER_CLI, running_dockerd
from tests.support.layers import busybox_rootfs_entries, layer_tar
from tests.support.registry import make_tls_material, push_test_image, start_registry


def _service(work: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    sock = work / "gd.sock"
    proc = subprocess.Popen([*GD, "system", "service", "--time", "0", f"unix://{sock}"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("geedocker system service did not start")
        time.sleep(0.05)
    return proc


def _py_run(socket: str) -> float:
    """One docker-py ``containers.run`` (a fresh client each time, as a script would make), in seconds."""
    code = ("import docker, time\n"
            "t = time.perf_counter()\n"
            f"c = docker.DockerClient(base_url={socket!r})\n"
            "c.containers.run('busybox', 'true', remove=True, network_mode='none')\n"
            "print(time.perf_counter() - t)\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return float(out.stdout.strip())


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    work = scratch("gdbench-api-")
    registry = start_registry("http", make_tls_material())
    service: subprocess.Popen[bytes] | None = None
    try:
        push_test_image(registry, "bench/busybox", "1", [layer_tar(busybox_rootfs_entries())],
                        config_overrides={"config": {"Cmd": ["sh"]}})  # fmt: skip
        image = f"{registry.host}/bench/busybox:1"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
               **gd_store(work / "gd", work / "gdrun")}  # fmt: skip
        subprocess.run([*GD, "pull", "-q", image], env=env, check=True, capture_output=True)
        subprocess.run([*GD, "tag", image, "busybox:latest"], env=env, check=True, capture_output=True)
        say("pulled into geedocker; starting the service")
        service = _service(work, env)
        say("service up; starting dockerd")
        gd_host = f"unix://{work / 'gd.sock'}"
        with running_dockerd() as d:
            dd_host = f"unix://{d.socket}"
            subprocess.run([*d.cmd, "pull", "-q", image], check=True, capture_output=True, timeout=300)
            subprocess.run([*d.cmd, "tag", image, "busybox:latest"], check=True, capture_output=True)
            say("dockerd up with the image; measuring")
            cli = {name: Series(f"docker run --rm via {name}") for name in ("geedocker", "dockerd")}
            py = {name: Series(f"docker-py run via {name}") for name in ("geedocker", "dockerd")}
            hosts = {"geedocker": gd_host, "dockerd": dd_host}
            for host in hosts.values():  # one warm-up each
                timed([str(DOCKER_CLI), "-H", host, "run", "--rm", "--network", "none", "busybox", "true"])
                _py_run(host)
            for _ in range(args.runs):
                for name, host in hosts.items():
                    cli[name].samples.append(timed([str(DOCKER_CLI), "-H", host, "run", "--rm", "--network", "none",
                                                    "busybox", "true"]))  # fmt: skip
                    py[name].samples.append(Sample(_py_run(host), 0))
            report(f"docker run --rm busybox true through the API (median of {args.runs}; peak MB is the CLI's)",
                   [cli["geedocker"], cli["dockerd"]], "docker run --rm via dockerd", "api-cli")  # fmt: skip
            report(f"docker-py containers.run (median of {args.runs})", [py["geedocker"], py["dockerd"]],
                   "docker-py run via dockerd", "api-docker-py")  # fmt: skip
    finally:
        if service is not None and service.poll() is None:
            service.send_signal(signal.SIGTERM)
            service.wait(30)
        registry.stop()
        cleanup()  # the service's containers, mounts, bridge, nftables table and store
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
