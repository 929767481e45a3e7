"""Layer tar streams -> directories: decompression, safe path resolution, whiteouts.

``apply_layer`` writes one layer (an overlayfs lower dir with ``WhiteoutPolicy.OVERLAY``, or onto an
existing tree with ``WhiteoutPolicy.APPLY``); ``flatten`` applies several into one flat rootfs.
"""

from geedocker.archive.apply import ApplyResult, apply_layer, flatten
from geedocker.archive.compression import Compression, detect, open_decompressed, uncompressed_digest
from geedocker.archive.options import Limits, WhiteoutPolicy

__all__ = [
    "ApplyResult",
    "Compression",
    "Limits",
    "WhiteoutPolicy",
    "apply_layer",
    "detect",
    "flatten",
    "open_decompressed",
    "uncompressed_digest",
]
