"""Unpacked layers, each once, keyed by chain id: ``layers/<chain hex>/diff`` is an overlayfs lower dir.

``unpack`` writes into ``layers/.tmp-<hex>-<pid>-<token>/`` (same filesystem), checks the diff_id of
what it read, writes ``meta.json`` and renames the temp dir to ``layers/<hex>`` in one step: a layer
directory that exists is complete. A per-chain-id file lock makes concurrent unpacks of the same layer
do the work once; temp dirs left by a crash are removed by the next unpack (those of the same chain id
at once, those of others when their process is gone).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from geedocker.digest import Digest
from geedocker.errors import StoreError, VerificationError
from geedocker.logger import get_logger
from geedocker.procs import pid_alive
from geedocker.store.fsutil import atomic_write, file_lock, fsync_dir
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from typing import BinaryIO

    from geedocker.archive.apply import ApplyResult
    from geedocker.archive.options import Limits

log = get_logger(__name__)

_TMP_PREFIX = ".tmp-"
_META = "meta.json"
_MAX_META = 64 << 10


class LayerStore:
    """The unpacked layers of a store (see the module doc)."""

    def __init__(self, layout: Layout, limits: Limits | None = None) -> None:
        # the archive code (tarfile, the decompressors) loads when a layer is unpacked or removed: ``images``,
        # ``inspect``, ``run`` and a cached ``pull`` only look layers up
        self.layout = layout
        self._limits = limits

    @property
    def limits(self) -> Limits:
        if self._limits is None:
            from geedocker.archive.options import DEFAULT_LIMITS

            self._limits = DEFAULT_LIMITS
        return self._limits

    def diff_path(self, chain_id: Digest) -> Path:
        return self.layout.layer_diff(chain_id)

    def has(self, chain_id: Digest) -> bool:
        d = self.layout.layer_dir(chain_id)
        return (d / _META).is_file() and (d / "diff").is_dir()

    def _lock(self, chain_id: Digest) -> Path:
        return self.layout.lock(f"layer-{chain_id.hex}")

    def unpack(self, chain_id: Digest, diff_id: Digest, blob: Path | BinaryIO) -> Path:
        """Unpack ``blob`` (the compressed or plain layer) as ``chain_id``; return its diff dir.

        Raises ``VerificationError`` when the uncompressed stream's digest is not ``diff_id``.
        """
        if self.has(chain_id):
            return self.diff_path(chain_id)
        import secrets

        from geedocker.trees import rmtree

        self.layout.layers.mkdir(parents=True, exist_ok=True)
        with file_lock(self._lock(chain_id)):
            if self.has(chain_id):
                return self.diff_path(chain_id)
            self._clean_temps(chain_id)
            final = self.layout.layer_dir(chain_id)
            if final.exists():  # a layer dir without its meta (not ours): never trust it
                log.warning("removing incomplete layer directory %s", final)
                rmtree(final)
            tmp = self.layout.layers / f"{_TMP_PREFIX}{chain_id.hex}-{os.getpid()}-{secrets.token_hex(4)}"
            tmp.mkdir(mode=0o700)
            try:
                diff = tmp / "diff"
                diff.mkdir()
                os.chmod(diff, 0o755)  # a layer without a "./" entry keeps this
                result = self._apply(blob, diff)
                if result.diff_id != diff_id:
                    raise VerificationError(
                        f"layer {chain_id}: diff_id mismatch: expected {diff_id}, got {result.diff_id}"
                    )
                meta = {"diff_id": str(result.diff_id), "size": result.size, "entries": result.entries}
                atomic_write(tmp / _META, json.dumps(meta).encode())
                os.chmod(tmp, 0o755)
                os.rename(tmp, final)
                fsync_dir(self.layout.layers)
            except BaseException:
                rmtree(tmp)
                raise
        log.debug("unpacked layer %s (%d bytes, %d entries)", chain_id, result.size, result.entries)
        return self.diff_path(chain_id)

    def _apply(self, blob: Path | BinaryIO, diff: Path) -> ApplyResult:
        from geedocker.archive.apply import apply_layer
        from geedocker.archive.options import WhiteoutPolicy

        if isinstance(blob, Path):
            with open(blob, "rb") as f:
                return apply_layer(f, diff, WhiteoutPolicy.OVERLAY, self.limits)
        return apply_layer(blob, diff, WhiteoutPolicy.OVERLAY, self.limits)

    def _clean_temps(self, chain_id: Digest) -> None:
        """Remove temp dirs of crashed unpacks: this chain id's (we hold its lock), others' if their pid is gone."""
        try:
            names = os.listdir(self.layout.layers)
        except FileNotFoundError:
            return
        for name in names:
            if not name.startswith(_TMP_PREFIX):
                continue
            fields = name[len(_TMP_PREFIX) :].split("-")
            if len(fields) != 3:
                continue
            hexpart, pid = fields[0], fields[1]
            if hexpart != chain_id.hex and _alive(pid):
                continue
            log.info("removing leftover temp layer dir %s", name)
            from geedocker.trees import rmtree

            rmtree(self.layout.layers / name)

    def _meta(self, chain_id: Digest) -> dict[str, object]:
        path = self.layout.layer_dir(chain_id) / _META
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read(_MAX_META))
        except FileNotFoundError as e:
            raise StoreError(f"layer {chain_id} is not unpacked") from e
        except (OSError, ValueError) as e:
            raise StoreError(f"layer {chain_id}: unreadable {path}: {e}") from e
        if not isinstance(data, dict):
            raise StoreError(f"layer {chain_id}: malformed {path}")
        return data

    def size(self, chain_id: Digest) -> int:
        """The uncompressed size of the layer's tar stream, in bytes."""
        size = self._meta(chain_id).get("size")
        if not isinstance(size, int):
            raise StoreError(f"layer {chain_id}: meta.json has no size")
        return size

    def diff_id(self, chain_id: Digest) -> Digest:
        value = self._meta(chain_id).get("diff_id")
        if not isinstance(value, str):
            raise StoreError(f"layer {chain_id}: meta.json has no diff_id")
        return Digest.parse(value)

    def chain_ids(self) -> list[Digest]:
        """The chain ids of every complete layer in the store."""
        try:
            names = os.listdir(self.layout.layers)
        except FileNotFoundError:
            return []
        out = []
        for name in sorted(names):
            if name.startswith(_TMP_PREFIX) or len(name) != 64:
                continue
            chain_id = Digest("sha256", name)
            if self.has(chain_id):
                out.append(chain_id)
        return out

    def remove(self, chain_id: Digest) -> bool:
        """Delete the unpacked layer (whatever modes its files have); False if it was not there."""
        import secrets

        from geedocker.trees import rmtree

        final = self.layout.layer_dir(chain_id)
        with file_lock(self._lock(chain_id)):
            if not final.exists():
                return False
            # unregister first (one rename), then delete at leisure: a crash leaves only a temp dir
            doomed = self.layout.layers / f"{_TMP_PREFIX}{chain_id.hex}-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(final, doomed)
            rmtree(doomed)
        return True  # the lock file stays: unlinking it would race with a process waiting on it


def _alive(pid: str) -> bool:
    return pid.isdigit() and pid_alive(int(pid))
