"""What a caller chooses about applying a layer: what whiteouts become, the caps, how a plain archive lands.

Plain values, apart from the applier that acts on them: its parts (``state``, ``entries``, ``whiteouts``,
``apply``) and its callers (the store, ``cp``, the builder) all name them.
"""

from __future__ import annotations

import enum

from geedocker.values import value


class WhiteoutPolicy(enum.Enum):
    """What whiteout entries become."""

    OVERLAY = "overlay"  # an overlayfs lower dir: 0:0 char devices and the opaque xattr
    APPLY = "apply"  # flatten onto the tree below: delete what the whiteouts hide
    NONE = "none"  # a plain archive (``cp``): ``.wh.`` names are ordinary files


@value
class Limits:
    """Caps against archive bombs: uncompressed bytes (stream and file contents) and entries."""

    max_bytes: int = 64 << 30
    max_entries: int = 1_000_000


DEFAULT_LIMITS = Limits()


@value
class Extract:
    """How a plain archive (``cp``, the Engine API's archive upload) lands: ``keep_kinds`` refuses to replace a
    directory with a non-directory or the reverse (docker's ``noOverwriteDirNonDir``); ``owner`` (uid, gid)
    owns every entry instead of the archive's owners."""

    keep_kinds: bool = False
    owner: tuple[int, int] | None = None


AS_ARCHIVED = Extract()
