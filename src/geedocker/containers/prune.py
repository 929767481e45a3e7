"""Pruning, as dockerd prunes (daemon/prune.go): stopped containers, unused networks, unused volumes and dangling
or unused images, each with docker's prune filters (``until``, ``label``, ``label!``; ``dangling`` for images,
``all`` for volumes). The CLI's ``prune`` commands and the API's ``/…/prune`` endpoints both call these, so both
remove the same things and report the same bytes.

Filters are ``{key: [values]}``. An unknown key is dockerd's "Invalid filter 'KEY'" (``FilterError``), checked
before anything is removed, as is a bad ``until`` or ``dangling`` value. What one item's removal refuses does not
stop the pass: it is reported in ``Pruned.errors`` (dockerd logs it), and the item stays.
"""

from __future__ import annotations

from geedocker.containers.engine import Engine
from geedocker.containers.filters import FilterError, check_keys, match_labels
from geedocker.values import value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.digest import Digest
    from geedocker.store.layers import LayerStore
    from geedocker.store.layout import Layout

Filters = dict[str, list[str]]

# dockerd's accepted prune filters, per kind (daemon/prune.go; ``all`` for volumes came with API 1.42)
CONTAINER_FILTERS = {"until", "label", "label!"}
NETWORK_FILTERS = {"until", "label", "label!"}
IMAGE_FILTERS = {"until", "label", "label!", "dangling"}
VOLUME_FILTERS = {"label", "label!", "all"}


@value
class Pruned:
    """What a pass removed: container ids, network names, volume names, or the image lines of ``rmi``
    ("Untagged: NAME", "Deleted: sha256:…"); the bytes that went with them; the removals refused."""

    deleted: tuple[str, ...] = ()
    reclaimed: int = 0
    errors: tuple[str, ...] = ()


def until(text: str) -> float:
    """An ``until=`` value (a timestamp, or a duration before now) -> epoch seconds, or dockerd's error."""
    from geedocker.timefmt import parse_timestamp

    try:
        return parse_timestamp(text)
    except ValueError as e:
        raise FilterError(f'failed to parse value as time or duration: "{text}"') from e


def _check(f: Filters, accepted: set[str]) -> None:
    check_keys(f, accepted)
    for u in f.get("until", []):
        until(u)  # a bad value is refused before anything goes


def _older(created: str, f: Filters) -> bool:
    """Created before every ``until`` (an object without a creation time is kept)."""
    from geedocker.timefmt import rfc3339_epoch

    if "until" not in f:
        return True
    epoch = rfc3339_epoch(created)
    return epoch is not None and all(epoch < until(u) for u in f["until"])


def _labelled(labels: dict[str, str], f: Filters) -> bool:
    """dockerd's prune label match: every ``label`` holds, and not every ``label!`` does."""
    if "label" in f and not match_labels(f["label"], labels):
        return False
    return not ("label!" in f and match_labels(f["label!"], labels))


def _boolean(key: str, v: str) -> bool:
    if v.lower() not in ("true", "false", "1", "0"):
        raise FilterError(f"Invalid filter '{key}=[{v}]'")
    return v.lower() in ("true", "1")


def containers(layout: Layout, f: Filters) -> Pruned:
    """Every stopped container the filters take; the bytes of their writable layers."""
    from geedocker.containers.removal import prune

    _check(f, CONTAINER_FILTERS)
    sizes: dict[str, int] = {}
    removed = prune(layout, lambda rec: _older(rec.created, f) and _labelled(rec.labels, f), sizes)
    return _logged(layout, "container", Pruned(tuple(removed), sum(sizes.values())))


def networks(layout: Layout, f: Filters) -> Pruned:
    """Every user network without containers that the filters take (a network holds no bytes to reclaim)."""
    from geedocker.errors import GeeDockerError
    from geedocker.network import networks as netops
    from geedocker.network.config import NetworkStore
    from geedocker.network.errors import NetworkInUse

    _check(f, NETWORK_FILTERS)
    removed, errors = [], []
    for cfg in NetworkStore(layout).configs():
        if cfg.is_default or not _labelled(dict(cfg.labels), f) or not _older(cfg.created, f):
            continue
        try:
            netops.remove_network(layout, cfg.name)
        except NetworkInUse:
            continue
        except GeeDockerError as e:
            errors.append(str(e))
            continue
        removed.append(cfg.name)
    return _logged(layout, "network", Pruned(tuple(removed), 0, tuple(errors)))


def volumes(layout: Layout, f: Filters, all_: bool = False) -> Pruned:
    """Anonymous volumes no container uses (every unused one with ``all_`` or ``all=true``); their bytes."""
    from geedocker.containers import volumes as engine

    check_keys(f, VOLUME_FILTERS)
    for a in f.get("all", []):
        if a.lower() not in ("true", "false", "1", "0"):
            raise FilterError(f"invalid filter 'all={a}'")
        all_ = all_ or a.lower() in ("true", "1")
    labels = f.get("label", []) + ["!" + x for x in f.get("label!", [])]
    sizes: dict[str, int] = {}
    removed = engine.prune(layout, all_=all_, labels=labels, sizes=sizes)
    return _logged(layout, "volume", Pruned(tuple(removed), sum(sizes.values())))


def images(layout: Layout, f: Filters, all_: bool = False) -> Pruned:
    """Dangling images (untagged; every image no container uses with ``all_`` or ``dangling=false``) that the
    filters take. The bytes are those of the unpacked layers that went with them (a layer another image or a
    container still uses stays, and counts nothing)."""
    from geedocker.errors import GeeDockerError
    from geedocker.images.local import remove_image

    _check(f, IMAGE_FILTERS)
    for d in f.get("dangling", []):
        all_ = all_ or not _boolean("dangling", d)
    store = Engine.of(layout).containers
    used = {r.image_id for r in store.list()}
    layers = Engine.of(layout).layers
    lines: list[str] = []
    errors: list[str] = []
    reclaimed = 0
    for rec in Engine.of(layout).images.records():
        if str(rec.id) in used or (not all_ and rec.tags):
            continue
        if not _older(rec.config.created, f) or not _labelled(dict(rec.config.config.labels), f):
            continue
        sizes = _layer_sizes(layers, rec.chain_ids)
        try:
            lines += remove_image(layout, str(rec.id), users=store.image_users, force=True)
        except GeeDockerError as e:
            errors.append(str(e))
            continue
        reclaimed += sum(size for c, size in sizes.items() if not layers.has(c))
    return _logged(layout, "image", Pruned(tuple(lines), reclaimed, tuple(errors)))


def _logged(layout: Layout, kind: str, pruned: Pruned) -> Pruned:
    """docker's ``prune`` event of a pass (no actor; the bytes reclaimed), after the events of what it removed."""
    from geedocker.store import events

    events.emit(layout, kind, "prune", "", {"reclaimed": str(pruned.reclaimed)})
    return pruned


def _layer_sizes(layers: LayerStore, chain_ids: list[Digest]) -> dict[Digest, int]:
    """The unpacked layers among ``chain_ids`` and their sizes (a layer without its size counts nothing)."""
    from geedocker.errors import StoreError

    out = {}
    for c in dict.fromkeys(chain_ids):
        try:
            if layers.has(c):
                out[c] = layers.size(c)
        except StoreError:
            continue
    return out
