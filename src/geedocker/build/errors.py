"""The builder's own error."""

from __future__ import annotations

from geedocker.errors import GeeDockerError


class BuildError(GeeDockerError):
    """A build step failed (a RUN's exit code, a missing source...): exit status 1, as docker build."""

    exit_code = 1


class RunFailed(BuildError):
    """A RUN's command exited non-zero: ``code`` is its exit status (the classic builder's API error carries it,
    and docker's CLI exits with it)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class Cancelled(BuildError):
    """Another stage failed (or the user interrupted): this one stops at its next step."""
