"""Lifecycle hooks: run a spec hook with the container's state JSON on its stdin."""

from __future__ import annotations

import json
from collections.abc import Sequence

from geedocker.errors import ContainerError
from geedocker.logger import get_logger
from geedocker.runtime.spec import Hook

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

log = get_logger(__name__)

DEFAULT_TIMEOUT = 60.0  # seconds, when the hook gives none


class HookError(ContainerError):
    """A hook failed, timed out, or could not be run."""


def run_hook(hook: Hook, state: dict[str, Any], phase: str) -> None:
    argv = list(hook.args) or [hook.path]
    env = {}
    for e in hook.env:
        k, _, v = e.partition("=")
        env[k] = v
    timeout = float(hook.timeout) if hook.timeout else DEFAULT_TIMEOUT
    import subprocess  # here: most containers have no hooks, and subprocess is slow to import

    try:
        res = subprocess.run(argv, executable=hook.path, input=json.dumps(state).encode(), env=env,
                             capture_output=True, timeout=timeout, close_fds=True)
    except subprocess.TimeoutExpired as e:
        raise HookError(f"{phase} hook {hook.path} timed out after {timeout:.0f}s") from e
    except OSError as e:
        raise HookError(f"{phase} hook {hook.path}: {e.strerror or e}") from e
    if res.returncode != 0:
        err = res.stderr[-2000:].decode(errors="replace").strip()
        raise HookError(f"{phase} hook {hook.path} exited with status {res.returncode}" + (f": {err}" if err else ""))


def run_all(hooks: Sequence[Hook], state: dict[str, Any], phase: str, *, fatal: bool = True) -> None:
    """Run ``hooks`` in order. Not ``fatal`` (poststart, poststop): failures are logged and the rest run."""
    for h in hooks:
        try:
            run_hook(h, state, phase)
        except HookError as e:
            if fatal:
                raise
            log.warning("%s", e)
