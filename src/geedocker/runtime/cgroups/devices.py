"""The device rules every container gets in its cgroup, whatever its spec says (runc's defaults)."""

from __future__ import annotations

from geedocker.runtime.spec_linux import Device
from geedocker.runtime.spec_resources import DeviceRule, Resources
from geedocker.values import replace

# What every container may use whatever its device rules say (runc's list): mknod of anything, the
# standard nodes, ptys and tun.
DEFAULT_ALLOWED_DEVICES: tuple[DeviceRule, ...] = (
    DeviceRule(True, "c", None, None, "m"),
    DeviceRule(True, "b", None, None, "m"),
    DeviceRule(True, "c", 1, 3, "rwm"),
    DeviceRule(True, "c", 1, 5, "rwm"),
    DeviceRule(True, "c", 1, 7, "rwm"),
    DeviceRule(True, "c", 1, 8, "rwm"),
    DeviceRule(True, "c", 1, 9, "rwm"),
    DeviceRule(True, "c", 5, 0, "rwm"),
    DeviceRule(True, "c", 5, 1, "rwm"),
    DeviceRule(True, "c", 5, 2, "rwm"),
    DeviceRule(True, "c", 136, None, "rwm"),
    DeviceRule(True, "c", 10, 200, "rwm"),
)


def with_default_devices(resources: Resources, devices: tuple[Device, ...]) -> Resources:
    """The spec's device rules, then the default devices and the spec's ``linux.devices`` allowed after them
    (as runc does), when the spec restricts devices at all."""
    if not resources.devices:
        return resources
    own = tuple(DeviceRule(True, "b" if d.type == "b" else "c", d.major, d.minor, "rwm")
                for d in devices if d.type in ("b", "c", "u"))
    rules = resources.devices
    last_deny = max((i for i, r in enumerate(rules) if not r.allow), default=-1)
    in_force = set(rules[last_deny + 1:])  # allowed after the last deny: adding them again changes nothing
    extra = tuple(dict.fromkeys(r for r in DEFAULT_ALLOWED_DEVICES + own if r not in in_force))
    return replace(resources, devices=rules + extra)
