"""What the applier knows while it applies one layer: its inputs, its counts, and what this layer did so far.

``ApplyState`` is the base that the entry writers (``entries``) and the whiteout handlers (``whiteouts``)
share: the tree's ``Root``, the policy, limits and source; which paths this layer wrote (``APPLY``:
whiteouts and opaque markers spare them, whatever the order), which whiteout devices it made
(``OVERLAY``: a later entry of the same name replaces one), and the directory modes and times to set at
the end (``metadata.finish_dirs``).
"""

from __future__ import annotations

import os

from geedocker.archive.metadata import umask
from geedocker.archive.options import AS_ARCHIVED, Extract, Limits, WhiteoutPolicy
from geedocker.archive.root import Parts, Root
from geedocker.archive.source import TarSource


class ApplyState:
    """One layer's apply in progress (see the module doc); ``mark``, ``touch`` and ``on_mkdir`` keep its books."""

    def __init__(self, root: Root, policy: WhiteoutPolicy, limits: Limits, src: TarSource,
                 extract: Extract = AS_ARCHIVED) -> None:  # fmt: skip
        self.root = root
        self.policy = policy
        self.extract = extract
        self.limits = limits
        self.src = src
        self.is_root = os.geteuid() == 0
        self.chmod_bits = 0o7000 | umask()
        self.entries = 0
        self.file_bytes = 0
        # APPLY: real paths this layer wrote (with their ancestors): whiteouts and opaque markers spare them
        self.written: set[str] = set()
        # OVERLAY: whiteout devices this layer made (a later entry of the same name replaces one)
        self.whiteouts: set[str] = set()
        # directory metadata, set at the end, deepest first: real path -> (mode, atime ns, mtime ns).
        # APPLY: a lower directory this layer changes without listing it keeps its times (mode None)
        self.dir_meta: dict[Parts, tuple[int | None, int | None, int | None]] = {}

    def mark(self, real: Parts) -> None:
        if self.policy is not WhiteoutPolicy.APPLY:
            return
        while real:
            key = "/".join(real)
            if key in self.written:
                return
            self.written.add(key)
            real = real[:-1]

    def touch(self, dir_fd: int, real: Parts) -> None:
        """Remember the times of a lower directory about to change, unless this layer lists it."""
        if self.policy is WhiteoutPolicy.APPLY and real not in self.dir_meta:
            st = os.stat(dir_fd)
            self.dir_meta[real] = (None, st.st_atime_ns, st.st_mtime_ns)

    def on_mkdir(self, real: Parts) -> None:
        """A parent directory the layer did not list: 0755 like containerd, owned by whoever we are."""
        self.mark(real)
        self.dir_meta.setdefault(real, (0o755, None, None))
