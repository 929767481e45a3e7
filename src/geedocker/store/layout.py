"""Every path geedocker keeps on disk, named in one place.

    $ROOT (default /var/lib/geedocker; --root or GEEDOCKER_ROOT)
      blobs/sha256/<hex>        compressed blobs, manifests and configs, read-only once committed
      ingest/<hex>/             partial downloads (data, a later pull resumes them with Range)
      layers/<chain hex>/diff   each layer unpacked once (an overlayfs lower dir)
      images.json               name:tag -> manifest digest
      containers/<id>/          bundle (config.json), state, upper/work dirs, logs
      networks/                 networks and IPAM leases
      tmp/                      scratch space on the store's filesystem (for atomic renames)
    $RUN (default /run/geedocker; --run-root or GEEDOCKER_RUN)
      locks, pid files, runtime state, netns bind mounts
    $HOST (default /run/geedocker/host; GEEDOCKER_HOST_RUN): what every store of the host shares, whatever its
      root and run root: network/<bridge>.leases (IPAM per bridge), network/subnets.json (subnet claims)
"""

from __future__ import annotations

import os
from pathlib import Path

from geedocker.digest import Digest
from geedocker.values import value

DEFAULT_ROOT = Path("/var/lib/geedocker")
DEFAULT_RUN = Path("/run/geedocker")
DEFAULT_HOST_RUN = DEFAULT_RUN / "host"


@value
class Layout:
    root: Path
    run: Path

    @classmethod
    def from_env(cls, root: str | os.PathLike[str] | None = None, run: str | os.PathLike[str] | None = None) -> Layout:
        r = Path(root or os.environ.get("GEEDOCKER_ROOT") or DEFAULT_ROOT)
        default_run = DEFAULT_RUN if r == DEFAULT_ROOT else r / "run"
        u = Path(run or os.environ.get("GEEDOCKER_RUN") or default_run)
        return cls(r.absolute(), u.absolute())

    # images
    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    def blob(self, digest: Digest) -> Path:
        return self.blobs / digest.algorithm / digest.hex

    @property
    def ingest(self) -> Path:
        return self.root / "ingest"

    def ingest_dir(self, digest: Digest) -> Path:
        return self.ingest / f"{digest.algorithm}-{digest.hex}"

    @property
    def layers(self) -> Path:
        return self.root / "layers"

    def layer_dir(self, chain_id: Digest) -> Path:
        return self.layers / chain_id.hex

    def layer_diff(self, chain_id: Digest) -> Path:
        return self.layer_dir(chain_id) / "diff"

    @property
    def images_file(self) -> Path:
        return self.root / "images.json"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    # containers
    @property
    def containers(self) -> Path:
        return self.root / "containers"

    def container_dir(self, cid: str) -> Path:
        return self.containers / cid

    @property
    def networks(self) -> Path:
        return self.root / "networks"

    # runtime
    @property
    def locks(self) -> Path:
        return self.run / "locks"

    def lock(self, name: str) -> Path:
        return self.locks / f"{name}.lock"

    @property
    def runtime_root(self) -> Path:
        """Where the runtime core keeps per-container state (like runc's --root)."""
        return self.run / "runtime"

    @property
    def netns(self) -> Path:
        return self.run / "netns"

    @property
    def host_run(self) -> Path:
        """State shared by every store on the host (address leases and subnets per bridge). Not under the run
        root: two stores with their own run roots (tests, a second --root) share the host's bridges and
        addresses. ``GEEDOCKER_HOST_RUN`` moves it (tests point it at a temp dir)."""
        return Path(os.environ.get("GEEDOCKER_HOST_RUN") or DEFAULT_HOST_RUN).absolute()

    @property
    def host_network(self) -> Path:
        return self.host_run / "network"

    def ensure(self) -> None:
        for p in (self.blobs / "sha256", self.ingest, self.layers, self.tmp, self.containers, self.networks):
            p.mkdir(parents=True, exist_ok=True)
        self.locks.mkdir(parents=True, exist_ok=True)
