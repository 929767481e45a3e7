"""The builder's own error."""

from __future__ import annotations

from geedocker.errors import GeeDockerError


class BuildError(GeeDockerError):
    """A build step failed (a RUN's exit code, a missing source...): exit status 1, as docker build."""

    exit_code = 1


class Cancelled(BuildError):
    """Another stage failed (or the user interrupted): this one stops at its next step."""
