"""``geedocker system check`` for images: every blob re-hashed against its name, every image's blobs present, every
layer unpacked from the diff_id its config names; ``repair`` deletes damaged blobs, pulls the images that had them
again (by their repository digest, so the same bytes or none), and unpacks missing or mismatched layers anew from
their verified blob.

A cached pull trusts a blob it finds with its recorded size (cheap); this is the deep check that hashes them all.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable

from geedocker import oci
from geedocker.digest import Digest
from geedocker.errors import GeeDockerError
from geedocker.logger import get_logger
from geedocker.oci import ImageConfig, Manifest
from geedocker.store.blobs import CHUNK, BlobStore
from geedocker.store.images import ImageStore
from geedocker.store.layers import LayerStore
from geedocker.store.layout import Layout
from geedocker.values import value

log = get_logger(__name__)

Puller = Callable[[str], None]  # pulls a reference into the store (raises why it could not)


@value
class Damage:
    """What the check found: a line to print, and whether ``repair`` put it right."""

    line: str
    repaired: bool = False


def damaged_blobs(blobs: BlobStore) -> list[Digest]:
    """The blobs whose bytes do not hash to their name (a truncated or altered file)."""
    bad = []
    for d in blobs.all():
        h = hashlib.sha256()
        try:
            with blobs.open(d) as f:
                while chunk := f.read(CHUNK):
                    h.update(chunk)
        except (OSError, GeeDockerError):
            bad.append(d)
            continue
        if h.hexdigest() != d.hex:
            bad.append(d)
    return bad


def check(layout: Layout, repair: bool = False, pull: Puller | None = None) -> list[Damage]:
    """What is wrong with the store's blobs, images and layers (with ``repair``: what was put right)."""
    blobs, images, layers = BlobStore(layout), ImageStore(layout), LayerStore(layout)
    out: list[Damage] = []
    bad = set(damaged_blobs(blobs))
    if repair:
        for d in bad:
            blobs.delete(d)  # a pull fetches it again; nothing else may read it meanwhile
    data = images.read_index()
    for mdigest, info in sorted(data["images"].items()):
        names = sorted(t for t, m in data["tags"].items() if m == mdigest)
        who = f"image {names[0] if names else mdigest}"
        problems = _image_problems(blobs, layers, Digest.parse(mdigest), info, bad)
        if not problems:
            continue
        fixed = False
        if repair:
            fixed = _repair(layout, blobs, layers, Digest.parse(mdigest), info, problems, pull, who)
        out += [Damage(f"{who}: {p}", fixed) for p in problems]
    for d in sorted(bad, key=str):  # a damaged blob that no image's line names (one no image uses)
        if not any(f"blob {d}" in x.line for x in out):
            out.append(Damage(f"blob {d}: its bytes do not match its digest", repair))
    return out


def _image_problems(blobs: BlobStore, layers: LayerStore, mdigest: Digest, info: dict[str, object],
                    bad: set[Digest]) -> list[str]:  # fmt: skip
    """What is wrong with one image: damaged or missing blobs, layers missing or unpacked from another diff_id."""
    problems = []
    cdigest = Digest.parse(str(info.get("config")))
    for d, what in ((mdigest, "manifest"), (cdigest, "config")):
        if d in bad:
            problems.append(f"{what} blob {d}: its bytes do not match its digest")
        elif not blobs.has(d):
            problems.append(f"{what} blob {d} is missing")
    if problems:
        return problems  # without its manifest and config nothing more can be checked
    manifest = Manifest.from_bytes(blobs.read_bytes(mdigest, oci.MAX_MANIFEST_BYTES))
    config = ImageConfig.from_bytes(blobs.read_bytes(cdigest, oci.MAX_CONFIG_BYTES))
    for desc in manifest.layers:
        if desc.digest in bad:
            problems.append(f"layer blob {desc.digest}: its bytes do not match its digest")
        elif not blobs.has_size(desc.digest, desc.size):
            problems.append(f"layer blob {desc.digest} is missing or not {desc.size} bytes")
    for chain, diff_id in zip(oci.chain_ids(config.diff_ids), config.diff_ids, strict=True):
        if not layers.has(chain):
            problems.append(f"layer {chain} is not unpacked")
            continue
        try:
            got = layers.diff_id(chain)
        except GeeDockerError as e:
            problems.append(f"layer {chain}: {e}")
            continue
        if got != diff_id:
            problems.append(f"layer {chain} was unpacked from {got}, not {diff_id}")
    return problems


def _repair(layout: Layout, blobs: BlobStore, layers: LayerStore, mdigest: Digest, info: dict[str, object],
            problems: list[str], pull: Puller | None, who: str) -> bool:  # fmt: skip
    """Put an image right: pull what its blobs lack again, then unpack its layers anew; whether it is whole."""
    repo_digests = [str(r) for r in info.get("repo_digests", []) or []]  # type: ignore[attr-defined]
    cdigest = Digest.parse(str(info.get("config")))
    needs_pull = not (blobs.has(mdigest) and blobs.has(cdigest))
    if not needs_pull:
        manifest = Manifest.from_bytes(blobs.read_bytes(mdigest, oci.MAX_MANIFEST_BYTES))
        needs_pull = any(not blobs.has_size(d.digest, d.size) for d in manifest.layers)
    if needs_pull:
        ref = next((r for r in repo_digests if r.endswith(f"@{mdigest}")), "")
        ref = ref or next(iter(repo_digests), "")
        if pull is None or not ref:
            log.warning("%s: no registry to pull it from again: pull or load it anew", who)
            return False
        try:
            pull(ref)
        except GeeDockerError as e:
            log.warning("%s: pulling %s again: %s", who, ref, e)
            return False
    manifest = Manifest.from_bytes(blobs.read_bytes(mdigest, oci.MAX_MANIFEST_BYTES))
    config = ImageConfig.from_bytes(blobs.read_bytes(cdigest, oci.MAX_CONFIG_BYTES))
    for desc, chain, diff_id in zip(manifest.layers, oci.chain_ids(config.diff_ids), config.diff_ids, strict=True):
        if layers.has(chain):
            with contextlib.suppress(GeeDockerError):
                if layers.diff_id(chain) == diff_id:
                    continue
            layers.remove(chain)
        try:
            layers.unpack(chain, diff_id, blobs.path(desc.digest))
        except GeeDockerError as e:
            log.warning("%s: unpacking layer %s: %s", who, chain, e)
            return False
    return not _image_problems(blobs, layers, mdigest, info, set())
