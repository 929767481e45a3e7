"""The errors of ``cp`` and of the archive endpoints (``containers.copy``, ``containers.archive``): one class
for each answer the Engine API gives (400, 404, 403, 500), so that the copying child (``containers.inrootfs``)
can report which one it met and ``api.errors`` can map it. Apart so that every module of the copy can raise them
without importing the others.
"""

from __future__ import annotations

from geedocker.errors import GeeDockerError


class CopyError(GeeDockerError):
    """A ``cp`` that cannot be done (docker: exit 1); the Engine API answers 400."""

    exit_code = 1


class CopyPathNotFound(CopyError):
    """The container path does not exist (the API: 404)."""


class CopyReadOnly(CopyError):
    """The destination is on a read-only rootfs or volume (the API: 403)."""


class CopyFailed(CopyError):
    """The system failed the copy (an I/O error; the API: 500)."""
