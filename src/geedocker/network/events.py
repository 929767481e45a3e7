"""Network events in the journal (``geedocker.store.events``), as docker's: ``create``/``destroy`` of a network,
``connect``/``disconnect`` of a container (at its start and exit, and by ``network connect``/``disconnect``),
the actor the network's ID, attributes ``name``, ``type`` (its driver) and ``container``."""

from __future__ import annotations

from geedocker.store import events
from geedocker.store.layout import Layout

# The pre-defined modes have no config file: their ids are derived from their names,
# sha256("geedocker-network-<name>"), written out so that the start path needs no hashlib.
PREDEFINED_IDS = {
    "host": "6716d7a02e0356cd3160cbda2c115ad6b476f87b3ea0c28690b6100b9452603e",
    "none": "93dd01fd9a8bf03fec5c3886266fb74dae2a31e326ff682bed9a6f6c9f835966",
}
PREDEFINED_TYPES = {"host": "host", "none": "null"}


def emit(layout: Layout, action: str, network_id: str, name: str, type_: str, container: str = "") -> None:
    attrs = {"name": name, "type": type_}
    if container:
        attrs["container"] = container
    events.emit(layout, "network", action, network_id, attrs)


def predefined(layout: Layout, action: str, mode: str, container: str) -> None:
    """``connect``/``disconnect`` of the ``host`` or ``none`` network."""
    emit(layout, action, PREDEFINED_IDS[mode], mode, PREDEFINED_TYPES[mode], container)
