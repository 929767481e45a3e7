"""The event filters (``events --filter``, the API's ``/events?filters=``): docker's matching rules (its daemon/events
filter), on journal-shaped events."""

from __future__ import annotations

from geedocker.store.events_query import matches


def ev(type_: str, action: str, actor: str, **attrs: str) -> dict[str, object]:
    return {"Type": type_, "Action": action, "Actor": {"ID": actor, "Attributes": attrs}}


PULL = ev("image", "pull", "busybox:latest", name="busybox", tier="front")
TAG = ev("image", "tag", "sha256:" + "a" * 64, name="mine:2")
START = ev("container", "start", "c" * 64, image="busybox:latest", name="web")
EXEC = ev("container", "exec_start: sh -c exit 3 ", "c" * 64, image="busybox", name="web", execID="e" * 64)
HEALTH = ev("container", "health_status: healthy", "c" * 64, image="busybox", name="web")
CONNECT = ev("network", "connect", "n" * 64, name="front", type="bridge", container="c" * 64)
MOUNT = ev("volume", "mount", "data", container="c" * 64, driver="local", destination="/d")
ALL = [PULL, TAG, START, EXEC, HEALTH, CONNECT, MOUNT]


def kept(**filters: list[str]) -> list[dict[str, object]]:
    return [e for e in ALL if matches(e, filters)]


def test_type_and_event() -> None:
    assert kept(type=["image"]) == [PULL, TAG]
    assert kept(type=["network", "volume"]) == [CONNECT, MOUNT]
    assert kept(event=["start"]) == [START]  # exactly: exec_start is another event
    assert kept(event=["exec_start"]) == [EXEC]  # these three by prefix, as docker's
    assert kept(event=["health_status"]) == [HEALTH]
    assert kept(event=["health_status: healthy"]) == [HEALTH]
    assert kept(event=["pull", "tag"], type=["image"]) == [PULL, TAG]


def test_image_by_name_with_or_without_tag_or_id() -> None:
    assert kept(image=["busybox"]) == [PULL, START, EXEC, HEALTH]  # image events by name, the others by image
    assert kept(image=["busybox:latest"]) == [PULL, START]
    assert kept(image=["sha256:" + "a" * 64]) == [TAG]
    assert kept(image=["mine"]) == [TAG]


def test_container_network_volume_by_id_name_or_prefix() -> None:
    assert kept(container=["web"]) == [START, EXEC, HEALTH]
    assert kept(container=["ccc"]) == [START, EXEC, HEALTH]  # an ID prefix
    assert kept(network=["front"]) == [CONNECT]
    assert kept(network=["nnnn"]) == [CONNECT]
    assert kept(volume=["data"]) == [MOUNT]
    assert kept(volume=["data"], type=["container"]) == []


def test_label() -> None:
    assert kept(label=["tier"]) == [PULL]
    assert kept(label=["tier=front"]) == [PULL]
    assert kept(label=["tier=back"]) == []
