"""Apply a layer made from ``Entry`` values (or raw bytes) in the archive tests, and the values they share."""

from __future__ import annotations

import io
from pathlib import Path

from geedocker.archive import ApplyResult, WhiteoutPolicy, apply_layer
from tests.support.layers import Entry, layer_tar

APPLY = WhiteoutPolicy.APPLY
OVERLAY = WhiteoutPolicy.OVERLAY
NONE = WhiteoutPolicy.NONE
T0 = 1_600_000_000
CAP_NET_BIND = "\x01\x00\x00\x02\x00\x04\x00\x00" + "\x00" * 12  # vfs_cap_data v2: permitted = NET_BIND_SERVICE


def apply(dest: Path, entries: list[Entry] | bytes, policy: WhiteoutPolicy = APPLY, **kw: object) -> ApplyResult:
    data = entries if isinstance(entries, bytes) else layer_tar(entries)
    dest.mkdir(parents=True, exist_ok=True)
    return apply_layer(io.BytesIO(data), dest, policy, **kw)  # type: ignore[arg-type]
