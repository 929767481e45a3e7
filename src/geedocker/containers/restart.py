"""Restart policies, as dockerd applies them, done by the container's monitor (there is no daemon).

- ``no`` (the default): never. ``always``: whenever it exits. ``unless-stopped``: as always, but not after a
  ``stop``/``kill``, not even at boot. ``on-failure[:N]``: on a non-zero exit, at most N times (unlimited without N).
- A container stopped or killed by the user is not restarted (``manually_stopped``); ``start`` clears that.
- Back-off: 100 ms before the first restart, doubled each time up to one minute; reset when the container ran at
  least ten seconds (dockerd's restartmanager).
- ``system boot`` starts ``always`` containers, and ``unless-stopped`` ones that were not stopped by hand, as
  dockerd does when it starts.
"""

from __future__ import annotations

from geedocker.errors import UsageError

FIRST_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


def parse(text: str) -> str:
    """Validate ``--restart`` (docker's messages); "" for the default."""
    if text in ("", "no"):
        return ""
    name, _, count = text.partition(":")
    if name in ("always", "unless-stopped"):
        if count:
            raise UsageError(f"invalid restart policy: maximum retry count cannot be used with restart policy '{name}'")
        return name
    if name == "on-failure":
        if count and (not count.isdigit()):
            raise UsageError("invalid restart policy format: maximum retry count must be an integer")
        return text
    raise UsageError(f"invalid restart policy '{text}'")


def from_api(name: str, count: int, auto_remove: bool = False) -> str:
    """The API's ``HostConfig.RestartPolicy`` (Name, MaximumRetryCount) as a policy, checked as dockerd checks it
    (its messages); "" for none."""
    if name in ("always", "unless-stopped", "no") and count != 0:
        raise UsageError(f"maximum retry count cannot be used with restart policy '{name}'")
    if name == "on-failure" and count < 0:
        raise UsageError("maximum retry count cannot be negative")
    if name not in ("", "no", "always", "unless-stopped", "on-failure"):
        raise UsageError(f"invalid restart policy '{name}'")
    policy = parse(f"{name}:{count}" if name == "on-failure" and count else name)
    if policy and auto_remove:
        raise UsageError("can't create 'AutoRemove' container with restart policy")
    return policy


def docker_name(policy: str) -> tuple[str, int]:
    """inspect's ``HostConfig.RestartPolicy``: (Name, MaximumRetryCount)."""
    name, _, count = policy.partition(":")
    return (name or "no"), int(count or 0)


def should_restart(policy: str, exit_code: int, restart_count: int, manually_stopped: bool) -> bool:
    if not policy or manually_stopped:
        return False
    name, count = docker_name(policy)
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure":
        return exit_code != 0 and (count == 0 or restart_count < count)
    return False


def next_delay(previous: float, ran_for: float) -> float:
    if ran_for >= RESET_AFTER or previous <= 0:
        return FIRST_DELAY
    return min(previous * 2, MAX_DELAY)


def starts_at_boot(policy: str, manually_stopped: bool) -> bool:
    name, _ = docker_name(policy)
    return name == "always" or (name == "unless-stopped" and not manually_stopped)
